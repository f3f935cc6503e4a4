//! MiniKV replies and their RESP2 encoding.
//!
//! A server turns each request into one [`Reply`] (via [`crate::apply`]) and writes
//! [`Reply::encode`]'s bytes to the client. The test client decodes them with [`Reply::decode`].

use std::fmt;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::protocol::{FrameError, MAX_FRAME};

/// One RESP2 reply.
#[derive(Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`, `+PONG`: a short status line.
    Simple(String),
    /// `-ERR ...`: an error; the connection stays open unless the server says otherwise.
    Error(String),
    /// `:3`
    Integer(i64),
    /// `$5\r\nhello`: binary-safe bytes.
    Bulk(Bytes),
    /// `$-1`: "no such key".
    Null,
    /// `*2 ...`
    Array(Vec<Reply>),
}

impl Reply {
    /// `+OK`
    pub fn ok() -> Reply {
        Reply::Simple("OK".into())
    }

    /// `-<message>`; by convention the message starts with `ERR`.
    pub fn error(message: impl Into<String>) -> Reply {
        Reply::Error(message.into())
    }

    /// `+SLEPT <ms>`: the reply to `SLEEP <ms>`, sent once the wait is over.
    pub fn slept(ms: u64) -> Reply {
        Reply::Simple(format!("SLEPT {ms}"))
    }

    /// Appends the RESP2 encoding of this reply to `out` (a `Vec<u8>` or a `BytesMut`).
    pub fn encode<B: BufMut>(&self, out: &mut B) {
        match self {
            Reply::Simple(text) => {
                out.put_u8(b'+');
                out.put_slice(text.as_bytes());
            }
            Reply::Error(text) => {
                out.put_u8(b'-');
                out.put_slice(text.as_bytes());
            }
            Reply::Integer(n) => out.put_slice(format!(":{n}").as_bytes()),
            Reply::Bulk(bytes) => {
                out.put_slice(format!("${}\r\n", bytes.len()).as_bytes());
                out.put_slice(bytes);
            }
            Reply::Null => out.put_slice(b"$-1"),
            Reply::Array(items) => {
                out.put_slice(format!("*{}\r\n", items.len()).as_bytes());
                for item in items {
                    item.encode(out);
                }
                return;
            }
        }
        out.put_slice(b"\r\n");
    }

    /// The RESP2 encoding as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Decodes one reply from the front of `buf` (the client side of the protocol).
    /// Same contract as [`crate::decode`]: `Ok(None)` leaves `buf` unchanged.
    pub fn decode(buf: &mut BytesMut) -> Result<Option<Reply>, FrameError> {
        match parse(buf, 0)? {
            None if buf.len() > 4 * MAX_FRAME => Err(FrameError::TooLarge),
            None => Ok(None),
            Some((reply, used)) => {
                buf.advance(used);
                Ok(Some(reply))
            }
        }
    }
}

fn line(buf: &[u8], start: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(start..)?;
    let cr = rest.windows(2).position(|w| w == b"\r\n")?;
    Some((&rest[..cr], start + cr + 2))
}

fn number(text: &[u8]) -> Result<i64, FrameError> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| {
            FrameError::Invalid(format!("bad number {:?}", String::from_utf8_lossy(text)))
        })
}

fn parse(buf: &[u8], start: usize) -> Result<Option<(Reply, usize)>, FrameError> {
    let Some(&kind) = buf.get(start) else {
        return Ok(None);
    };
    let Some((text, next)) = line(buf, start + 1) else {
        return Ok(None);
    };
    let text_string = || String::from_utf8_lossy(text).into_owned();
    let parsed = match kind {
        b'+' => (Reply::Simple(text_string()), next),
        b'-' => (Reply::Error(text_string()), next),
        b':' => (Reply::Integer(number(text)?), next),
        b'$' => {
            let len = number(text)?;
            if len < 0 {
                (Reply::Null, next)
            } else {
                let end = next + len as usize;
                if buf.len() < end + 2 {
                    return Ok(None);
                }
                (
                    Reply::Bulk(Bytes::copy_from_slice(&buf[next..end])),
                    end + 2,
                )
            }
        }
        b'*' => {
            let count = number(text)?;
            let mut items = Vec::new();
            let mut pos = next;
            for _ in 0..count.max(0) {
                let Some((item, after)) = parse(buf, pos)? else {
                    return Ok(None);
                };
                items.push(item);
                pos = after;
            }
            (Reply::Array(items), pos)
        }
        other => {
            return Err(FrameError::Invalid(format!(
                "unexpected reply type byte {:?}",
                other as char
            )))
        }
    };
    Ok(Some(parsed))
}

/// Shows a reply the way `redis-cli` does, so assertion messages read naturally.
impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Simple(text) => write!(f, "{text}"),
            Reply::Error(text) => write!(f, "(error) {text}"),
            Reply::Integer(n) => write!(f, "(integer) {n}"),
            Reply::Bulk(bytes) => write!(f, "{:?}", String::from_utf8_lossy(bytes)),
            Reply::Null => write!(f, "(nil)"),
            Reply::Array(items) if items.is_empty() => write!(f, "(empty array)"),
            Reply::Array(items) => {
                let shown: Vec<String> = items.iter().map(|i| i.to_string()).collect();
                write!(f, "[{}]", shown.join(", "))
            }
        }
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn every_reply_kind_round_trips_through_its_encoding() {
        let replies = vec![
            Reply::ok(),
            Reply::error("ERR nope"),
            Reply::Integer(-7),
            Reply::Bulk(Bytes::from_static(b"a\r\nb")),
            Reply::Null,
            Reply::Array(vec![]),
            Reply::Array(vec![
                Reply::Integer(1),
                Reply::Bulk(Bytes::from_static(b"x")),
            ]),
        ];
        let mut buf = BytesMut::new();
        for reply in &replies {
            reply.encode(&mut buf);
        }
        for expected in &replies {
            assert_eq!(Reply::decode(&mut buf).unwrap().as_ref(), Some(expected));
        }
        assert!(buf.is_empty());
    }

    #[test]
    fn encodings_match_redis_byte_for_byte() {
        assert_eq!(Reply::ok().to_bytes(), b"+OK\r\n");
        assert_eq!(Reply::Null.to_bytes(), b"$-1\r\n");
        assert_eq!(Reply::Array(vec![]).to_bytes(), b"*0\r\n");
        assert_eq!(Reply::Integer(2).to_bytes(), b":2\r\n");
        assert_eq!(
            Reply::Bulk(Bytes::from_static(b"hi")).to_bytes(),
            b"$2\r\nhi\r\n"
        );
        assert_eq!(Reply::slept(5).to_bytes(), b"+SLEPT 5\r\n");
    }

    #[test]
    fn partial_replies_decode_to_none_without_consuming() {
        let whole =
            Reply::Array(vec![Reply::Bulk(Bytes::from_static(b"hello")), Reply::Null]).to_bytes();
        for cut in 0..whole.len() {
            let mut buf = BytesMut::from(&whole[..cut]);
            assert_eq!(Reply::decode(&mut buf), Ok(None), "cut at {cut}");
            assert_eq!(buf.len(), cut);
        }
    }
}
