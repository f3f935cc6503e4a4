//! The key/value store and the MiniKV commands.
//!
//! [`apply`] executes one request against the [`Store`] and returns an [`Action`]. It never
//! blocks and never sleeps: *waiting* is what each lab does differently (a blocked thread in
//! lab 1, a timer heap in lab 2, a tokio timer in lab 5), so `SLEEP` comes back to you as
//! [`Action::Sleep`] and you decide how to wait.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;

use crate::protocol::Request;
use crate::reply::Reply;

/// The longest `SLEEP` a client may ask for, in milliseconds.
pub const MAX_SLEEP_MS: u64 = 10_000;

/// An in-memory map from keys to values.
#[derive(Debug, Default, Clone)]
pub struct Store {
    entries: HashMap<Bytes, Bytes>,
}

impl Store {
    /// An empty store.
    pub fn new() -> Store {
        Store::default()
    }

    /// The value of `key`, if any.
    pub fn get(&self, key: &[u8]) -> Option<Bytes> {
        self.entries.get(key).cloned()
    }

    /// Sets `key` to `value`, replacing any previous value.
    pub fn set(&mut self, key: Bytes, value: Bytes) {
        self.entries.insert(key, value);
    }

    /// Removes `key`; true if it existed.
    pub fn remove(&mut self, key: &[u8]) -> bool {
        self.entries.remove(key).is_some()
    }

    /// How many keys are stored.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no key is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What the server must do after [`apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this reply; the connection stays open.
    Reply(Reply),
    /// Wait `duration` *the way your lab waits*, then send `then`. Other clients must not notice.
    Sleep { duration: Duration, then: Reply },
    /// Send this reply, then close the connection (`QUIT`).
    Close(Reply),
}

/// Executes one request. Unknown commands and bad arguments give an error reply
/// (`Action::Reply(Reply::Error(..))`): the connection stays open.
pub fn apply(store: &mut Store, request: &Request) -> Action {
    let args = request.args();
    let command = request.command();
    let arity_error = || {
        Action::Reply(Reply::error(format!(
            "ERR wrong number of arguments for '{}' command",
            command.to_ascii_lowercase()
        )))
    };
    match (command.as_str(), args.len()) {
        ("PING", 1) => Action::Reply(Reply::Simple("PONG".into())),
        ("PING", 2) => Action::Reply(Reply::Bulk(args[1].clone())),
        ("ECHO", 2) => Action::Reply(Reply::Bulk(args[1].clone())),
        ("SET", 3) => {
            store.set(args[1].clone(), args[2].clone());
            Action::Reply(Reply::ok())
        }
        ("GET", 2) => Action::Reply(store.get(&args[1]).map_or(Reply::Null, Reply::Bulk)),
        ("DEL", n) if n >= 2 => {
            let removed = args[1..].iter().filter(|key| store.remove(key)).count();
            Action::Reply(Reply::Integer(removed as i64))
        }
        ("SLEEP", 2) => match std::str::from_utf8(&args[1])
            .ok()
            .and_then(|t| t.parse::<u64>().ok())
        {
            Some(ms) if ms <= MAX_SLEEP_MS => Action::Sleep {
                duration: Duration::from_millis(ms),
                then: Reply::slept(ms),
            },
            _ => Action::Reply(Reply::error(format!(
                "ERR SLEEP takes a number of milliseconds from 0 to {MAX_SLEEP_MS}"
            ))),
        },
        ("QUIT", 1) => Action::Close(Reply::ok()),
        // redis-benchmark 7 first asks `CONFIG GET save` and `CONFIG GET appendonly`. MiniKV has no
        // settings: it answers as Redis does for a pattern that matches none, an empty array.
        // redis-benchmark then prints "WARNING: Could not fetch server CONFIG" and runs as usual.
        ("CONFIG", 3) if args[1].eq_ignore_ascii_case(b"GET") => {
            Action::Reply(Reply::Array(vec![]))
        }
        ("PING" | "ECHO" | "SET" | "GET" | "DEL" | "SLEEP" | "QUIT" | "CONFIG", _) => arity_error(),
        _ => Action::Reply(Reply::error(format!(
            "ERR unknown command '{}'",
            String::from_utf8_lossy(&args[0])
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn run(store: &mut Store, words: &[&str]) -> Action {
        apply(store, &Request::new(words))
    }

    fn reply(store: &mut Store, words: &[&str]) -> Reply {
        match run(store, words) {
            Action::Reply(reply) => reply,
            other => panic!("{words:?} should reply at once, got {other:?}"),
        }
    }

    #[test]
    fn set_get_del_behave_like_redis() {
        let mut store = Store::new();
        assert_eq!(reply(&mut store, &["GET", "k"]), Reply::Null);
        assert_eq!(reply(&mut store, &["set", "k", "v"]), Reply::ok());
        assert_eq!(
            reply(&mut store, &["GET", "k"]),
            Reply::Bulk(Bytes::from_static(b"v"))
        );
        assert_eq!(
            reply(&mut store, &["DEL", "k", "missing", "k"]),
            Reply::Integer(1)
        );
        assert!(store.is_empty());
    }

    #[test]
    fn ping_echo_and_config_get() {
        let mut store = Store::new();
        assert_eq!(reply(&mut store, &["PING"]), Reply::Simple("PONG".into()));
        assert_eq!(
            reply(&mut store, &["ECHO", "hi"]),
            Reply::Bulk(Bytes::from_static(b"hi"))
        );
        assert_eq!(
            reply(&mut store, &["CONFIG", "GET", "save"]),
            Reply::Array(vec![])
        );
    }

    #[test]
    fn sleep_is_returned_to_the_caller_never_performed() {
        let mut store = Store::new();
        assert_eq!(
            run(&mut store, &["SLEEP", "250"]),
            Action::Sleep {
                duration: Duration::from_millis(250),
                then: Reply::slept(250)
            }
        );
        assert!(matches!(
            reply(&mut store, &["SLEEP", "10001"]),
            Reply::Error(_)
        ));
        assert!(matches!(
            reply(&mut store, &["SLEEP", "-1"]),
            Reply::Error(_)
        ));
    }

    #[test]
    fn quit_closes_and_errors_keep_the_connection() {
        let mut store = Store::new();
        assert_eq!(run(&mut store, &["QUIT"]), Action::Close(Reply::ok()));
        assert_eq!(
            reply(&mut store, &["FLY", "away"]),
            Reply::error("ERR unknown command 'FLY'")
        );
        assert_eq!(
            reply(&mut store, &["GET"]),
            Reply::error("ERR wrong number of arguments for 'get' command")
        );
    }
}
