//! The `idle-clients` tool of the handouts' measurements, run as students run it: against a
//! listener of the test's own on a free loopback port.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

fn idle_clients(args: &[&str]) -> (Output, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_idle-clients"))
        .args(args)
        .output()
        .expect("running idle-clients");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback listener");
    let addr = listener.local_addr().expect("its address").to_string();
    (listener, addr)
}

#[test]
fn holds_its_connections_for_the_given_time_then_closes_them() {
    let (listener, addr) = listener();
    let server = thread::spawn(move || {
        let streams: Vec<TcpStream> = listener.incoming().take(3).flatten().collect();
        // Each client must stay silent, then close: read until end-of-file.
        streams
            .into_iter()
            .map(|mut stream| {
                let mut got = Vec::new();
                stream
                    .set_read_timeout(Some(Duration::from_secs(20)))
                    .unwrap();
                let _ = stream.read_to_end(&mut got);
                got.len()
            })
            .collect::<Vec<_>>()
    });
    let started = Instant::now();
    let (output, stdout) = idle_clients(&["3", &addr, "--seconds", "1"]);
    assert!(output.status.success(), "{output:?}");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(stdout.contains("opened 3/3 connections"), "{stdout}");
    assert!(
        stdout.contains(&format!("holding 3 idle connections to {addr} for 1 s")),
        "{stdout}"
    );
    assert!(
        stdout.contains("closing the 3 connection(s) still open"),
        "{stdout}"
    );
    assert_eq!(
        server.join().unwrap(),
        vec![0, 0, 0],
        "idle clients send nothing"
    );
}

#[test]
fn reports_what_the_server_says_and_stops_once_it_closed_everything() {
    let (listener, addr) = listener();
    thread::spawn(move || {
        let streams: Vec<TcpStream> = listener.incoming().take(5).flatten().collect();
        thread::sleep(Duration::from_millis(300));
        for mut stream in streams {
            let _ = stream.write_all(b"-ERR idle timeout\r\n");
        }
    });
    let started = Instant::now();
    let (output, stdout) = idle_clients(&["5", &addr, "--seconds", "30"]);
    assert!(output.status.success(), "{output:?}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "it stops once every connection is closed"
    );
    assert!(
        stdout.contains(
            "5 connection(s) closed by the server, after receiving \"-ERR idle timeout\\r\\n\""
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("the server has closed every connection"),
        "{stdout}"
    );
}

#[test]
fn refuses_addresses_that_are_not_loopback() {
    for elsewhere in ["192.0.2.1:6380", "0.0.0.0:6380"] {
        let (output, _) = idle_clients(&["3", elsewhere]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("refusing") && stderr.contains("loopback"),
            "{stderr}"
        );
    }
}

#[test]
fn says_when_no_server_listens() {
    let (listener, addr) = listener();
    drop(listener);
    let (output, _) = idle_clients(&["2", &addr, "--seconds", "1"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is your server running?"), "{stderr}");
}

#[test]
fn a_flooding_client_never_reads_and_notices_when_the_server_stops_reading() {
    let (listener, addr) = listener();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        // Read a little, then stop reading: the client's sending must stall.
        let mut first = [0u8; 12];
        stream.read_exact(&mut first).unwrap();
        thread::sleep(Duration::from_secs(6));
        first
    });
    let (output, stdout) = idle_clients(&["1", &addr, "--flood", "--seconds", "4"]);
    assert!(output.status.success(), "{output:?}");
    assert!(
        stdout.contains("holding 1 flooding connections"),
        "{stdout}"
    );
    assert!(
        stdout.contains("sending stalled at"),
        "once the server stops reading, the client says so: {stdout}"
    );
    assert_eq!(&server.join().unwrap(), b"PING\r\nPING\r\n");
}
