use std::process::ExitCode;

use clap::Parser;
use grader::cli::{self, Cli, UsageError};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli::run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) if error.downcast_ref::<UsageError>().is_some() => {
            eprintln!("grader: {error}");
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("grader: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
