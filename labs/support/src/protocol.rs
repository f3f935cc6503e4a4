//! Decoding MiniKV requests: RESP2 arrays of bulk strings, or inline commands.
//!
//! `redis-cli` and `redis-benchmark` send arrays of bulk strings:
//!
//! ```text
//! *3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$5\r\nworld\r\n
//! ```
//!
//! `nc` and `telnet` users type inline commands: one line of words separated by spaces.
//!
//! The decoder is *incremental*: a TCP read may deliver half a request, or three requests at
//! once. You keep a buffer per connection, append what you read, and call [`decode`] in a loop.
//! Each call consumes exactly one complete frame from the front of the buffer and returns it,
//! or returns `Ok(None)` without touching the buffer when the frame is not complete yet.

use std::fmt;
use std::ops::Range;

use bytes::{Bytes, BytesMut};

/// The largest frame a server accepts. A bigger request gets `-ERR frame too large` and the
/// connection is closed, so one client cannot make the server buffer unbounded memory.
pub const MAX_FRAME: usize = 64 * 1024;

/// Lines that carry a length (`*3`, `$5`) are short; a longer one is garbage.
const MAX_LENGTH_LINE: usize = 32;

/// One request: the command name and its arguments, as raw bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    args: Vec<Bytes>,
}

/// Why a frame could not be decoded. Either way the connection is beyond repair: write
/// [`FrameError::reply`] to the client, then close the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The frame is (or announces itself to be) larger than [`MAX_FRAME`].
    TooLarge,
    /// The bytes are not valid RESP2.
    Invalid(String),
}

impl Request {
    /// Builds a request from its words, for tests and clients: `Request::new(["SET", "k", "v"])`.
    pub fn new<I, A>(args: I) -> Request
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        Request {
            args: args
                .into_iter()
                .map(|a| Bytes::copy_from_slice(a.as_ref()))
                .collect(),
        }
    }

    /// The command name and its arguments.
    pub fn args(&self) -> &[Bytes] {
        &self.args
    }

    /// The command name in upper case (`"GET"`), as commands are case-insensitive.
    pub fn command(&self) -> String {
        String::from_utf8_lossy(&self.args[0]).to_ascii_uppercase()
    }

    /// The request as a RESP2 array of bulk strings, the way `redis-cli` sends it.
    pub fn to_resp(&self) -> Vec<u8> {
        let mut out = format!("*{}\r\n", self.args.len()).into_bytes();
        for arg in &self.args {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        out
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<String> = self
            .args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        write!(f, "Request{words:?}")
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::TooLarge => write!(f, "frame too large (limit {MAX_FRAME} bytes)"),
            FrameError::Invalid(why) => write!(f, "protocol error: {why}"),
        }
    }
}

impl std::error::Error for FrameError {}

impl FrameError {
    /// The error reply to send before closing the connection.
    pub fn reply(&self) -> crate::Reply {
        match self {
            FrameError::TooLarge => crate::Reply::Error("ERR frame too large".into()),
            FrameError::Invalid(why) => crate::Reply::Error(format!("ERR Protocol error: {why}")),
        }
    }
}

/// Decodes one request from the front of `buf`.
///
/// - `Ok(Some(request))`: one complete frame was removed from `buf`; call again, there may be
///   another one behind it (pipelining).
/// - `Ok(None)`: `buf` holds no complete frame yet (or nothing at all) and was not changed;
///   read more bytes into it and call again.
/// - `Err(e)`: the client sent garbage or a frame over [`MAX_FRAME`]; reply with
///   [`FrameError::reply`] and close the connection.
///
/// Empty frames (a blank line, `*0`) are skipped, as Redis does.
pub fn decode(buf: &mut BytesMut) -> Result<Option<Request>, FrameError> {
    loop {
        if buf.is_empty() {
            return Ok(None);
        }
        let parsed = if buf[0] == b'*' {
            parse_array(buf)?
        } else {
            parse_inline(buf)?
        };
        let Some((frame_len, ranges)) = parsed else {
            if buf.len() > MAX_FRAME {
                return Err(FrameError::TooLarge);
            }
            return Ok(None);
        };
        if frame_len > MAX_FRAME {
            return Err(FrameError::TooLarge);
        }
        let frame = buf.split_to(frame_len).freeze();
        if ranges.is_empty() {
            continue;
        }
        let args = ranges.into_iter().map(|r| frame.slice(r)).collect();
        return Ok(Some(Request { args }));
    }
}

/// A complete frame: its length in bytes and the position of each argument inside it.
type Parsed = Option<(usize, Vec<Range<usize>>)>;

fn parse_array(buf: &[u8]) -> Result<Parsed, FrameError> {
    let Some((count, mut pos)) = length_line(buf, 1)? else {
        return Ok(None);
    };
    if count <= 0 {
        return Ok(Some((pos, Vec::new())));
    }
    // Every element takes at least 6 bytes (`$0\r\n\r\n`): a larger count cannot fit.
    let count = usize::try_from(count).map_err(|_| FrameError::TooLarge)?;
    if count > MAX_FRAME / 6 {
        return Err(FrameError::TooLarge);
    }
    let mut args = Vec::with_capacity(count.min(16));
    for _ in 0..count {
        if pos >= buf.len() {
            return Ok(None);
        }
        if buf[pos] != b'$' {
            return Err(FrameError::Invalid(format!(
                "expected '$' (a bulk string), got {:?}",
                buf[pos] as char
            )));
        }
        let Some((len, start)) = length_line(buf, pos + 1)? else {
            return Ok(None);
        };
        let len = usize::try_from(len)
            .map_err(|_| FrameError::Invalid("negative bulk string length".into()))?;
        let end = start.checked_add(len).ok_or(FrameError::TooLarge)?;
        // Refuse an oversized frame as soon as its header announces it, before buffering it.
        if end + 2 > MAX_FRAME {
            return Err(FrameError::TooLarge);
        }
        if buf.len() < end + 2 {
            return Ok(None);
        }
        if &buf[end..end + 2] != b"\r\n" {
            return Err(FrameError::Invalid(
                "bulk string not followed by CRLF".into(),
            ));
        }
        args.push(start..end);
        pos = end + 2;
    }
    Ok(Some((pos, args)))
}

/// Reads a `<integer>\r\n` line starting at `start`; returns the number and the position after it.
fn length_line(buf: &[u8], start: usize) -> Result<Option<(i64, usize)>, FrameError> {
    let rest = &buf[start.min(buf.len())..];
    let Some(cr) = rest.windows(2).position(|w| w == b"\r\n") else {
        if rest.len() > MAX_LENGTH_LINE {
            return Err(FrameError::Invalid("length line too long".into()));
        }
        return Ok(None);
    };
    let text = std::str::from_utf8(&rest[..cr])
        .ok()
        .filter(|t| !t.is_empty() && t.len() <= MAX_LENGTH_LINE);
    let number = text.and_then(|t| t.parse::<i64>().ok()).ok_or_else(|| {
        FrameError::Invalid(format!(
            "invalid length {:?}",
            String::from_utf8_lossy(&rest[..cr.min(MAX_LENGTH_LINE)])
        ))
    })?;
    Ok(Some((number, start + cr + 2)))
}

fn parse_inline(buf: &[u8]) -> Result<Parsed, FrameError> {
    let Some(newline) = buf.iter().position(|&b| b == b'\n') else {
        return Ok(None);
    };
    let line_end = if newline > 0 && buf[newline - 1] == b'\r' {
        newline - 1
    } else {
        newline
    };
    let mut args = Vec::new();
    let mut word_start = None;
    for (i, &byte) in buf[..line_end].iter().enumerate() {
        let is_space = byte == b' ' || byte == b'\t';
        match (word_start, is_space) {
            (None, false) => word_start = Some(i),
            (Some(start), true) => {
                args.push(start..i);
                word_start = None;
            }
            _ => {}
        }
    }
    if let Some(start) = word_start {
        args.push(start..line_end);
    }
    Ok(Some((newline + 1, args)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn words(request: &Request) -> Vec<String> {
        request
            .args()
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    }

    #[test]
    fn decodes_an_array_of_bulk_strings_and_consumes_exactly_it() {
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n"[..]);
        let first = decode(&mut buf).unwrap().unwrap();
        assert_eq!(words(&first), ["GET", "k"]);
        assert_eq!(&buf[..], b"*1\r\n$4\r\nPING\r\n");
        let second = decode(&mut buf).unwrap().unwrap();
        assert_eq!(second.command(), "PING");
        assert!(buf.is_empty());
        assert_eq!(decode(&mut buf), Ok(None));
    }

    #[test]
    fn incomplete_frame_returns_none_and_leaves_the_buffer_alone() {
        let whole = b"*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$5\r\nworld\r\n";
        for cut in 0..whole.len() {
            let mut buf = BytesMut::from(&whole[..cut]);
            assert_eq!(decode(&mut buf), Ok(None), "cut at {cut}");
            assert_eq!(buf.len(), cut, "the buffer must not change (cut at {cut})");
        }
    }

    #[test]
    fn byte_by_byte_feeding_yields_the_request_once_complete() {
        let whole = b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n";
        let mut buf = BytesMut::new();
        let mut decoded = Vec::new();
        for &byte in whole.iter() {
            buf.extend_from_slice(&[byte]);
            if let Some(request) = decode(&mut buf).unwrap() {
                decoded.push(words(&request));
            }
        }
        assert_eq!(decoded, vec![vec!["ECHO".to_string(), "hi".to_string()]]);
    }

    #[test]
    fn inline_commands_split_on_spaces_and_accept_bare_newlines() {
        let mut buf = BytesMut::from(&b"SET  k   v\r\nGET k\n\r\n  \nPING"[..]);
        assert_eq!(
            words(&decode(&mut buf).unwrap().unwrap()),
            ["SET", "k", "v"]
        );
        assert_eq!(words(&decode(&mut buf).unwrap().unwrap()), ["GET", "k"]);
        // Blank lines are skipped; the final PING has no newline yet.
        assert_eq!(decode(&mut buf), Ok(None));
        assert_eq!(&buf[..], b"PING");
    }

    #[test]
    fn binary_values_survive_including_crlf_inside_bulk_strings() {
        let request = Request::new([&b"SET"[..], b"k", b"a\r\nb\0c"]);
        let mut buf = BytesMut::from(&request.to_resp()[..]);
        assert_eq!(decode(&mut buf).unwrap().unwrap(), request);
    }

    #[test]
    fn oversized_bulk_string_is_refused_from_its_header() {
        let mut buf = BytesMut::from(&b"*2\r\n$4\r\nECHO\r\n$70000\r\n"[..]);
        assert_eq!(decode(&mut buf), Err(FrameError::TooLarge));
    }

    #[test]
    fn oversized_inline_line_is_refused() {
        let mut buf = BytesMut::from(&vec![b'a'; MAX_FRAME + 1][..]);
        assert_eq!(decode(&mut buf), Err(FrameError::TooLarge));
    }

    #[test]
    fn frame_just_under_the_limit_is_accepted() {
        let value = vec![b'x'; MAX_FRAME - 64];
        let request = Request::new([&b"ECHO"[..], &value]);
        let mut buf = BytesMut::from(&request.to_resp()[..]);
        assert_eq!(decode(&mut buf).unwrap().unwrap(), request);
    }

    #[test]
    fn garbage_is_a_protocol_error() {
        for garbage in [
            &b"*x\r\n"[..],
            b"*1\r\n+PING\r\n",
            b"*1\r\n$-1\r\n",
            b"*1\r\n$2\r\nabcd\r\n",
        ] {
            let mut buf = BytesMut::from(garbage);
            assert!(
                matches!(decode(&mut buf), Err(FrameError::Invalid(_))),
                "{:?} should be a protocol error",
                String::from_utf8_lossy(garbage)
            );
        }
    }

    #[test]
    fn empty_arrays_are_skipped() {
        let mut buf = BytesMut::from(&b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n"[..]);
        assert_eq!(decode(&mut buf).unwrap().unwrap().command(), "PING");
    }
}
