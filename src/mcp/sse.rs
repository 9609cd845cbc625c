//! Server-sent events (the WHATWG event-stream format), read with a bound on every
//! line and every event, so that a server cannot make toolreg buffer without end.

use std::io::{BufRead, Read};

use super::FetchError;

/// One dispatched event.
#[derive(Debug, PartialEq, Eq)]
pub struct Event {
    /// `message` unless the stream named it.
    pub name: String,
    pub data: String,
}

/// The events of a stream, in order.
pub struct Events<R> {
    reader: R,
    limit: usize,
}

impl<R: BufRead> Events<R> {
    /// `limit` bounds one line and the data of one event, in bytes.
    pub fn new(reader: R, limit: usize) -> Self {
        Events { reader, limit }
    }

    /// The next event with data; `None` at the end of the stream. Events with empty
    /// data (the priming event a Streamable HTTP server sends first, `data:` or
    /// `data: `) carry no message and are skipped.
    pub fn next_event(&mut self) -> Result<Option<Event>, FetchError> {
        let mut name = String::new();
        let mut data = String::new();
        let mut line = Vec::new();
        loop {
            line.clear();
            let cap = u64::try_from(self.limit).unwrap_or(u64::MAX).saturating_add(1);
            let read = (&mut self.reader).take(cap).read_until(b'\n', &mut line).map_err(|e| {
                if timed_out(&e) {
                    FetchError::Stalled
                } else {
                    FetchError::Protocol(format!("reading the event stream: {e}"))
                }
            })?;
            if read == 0 {
                // The end of the stream dispatches nothing that was not finished.
                return Ok(None);
            }
            if line.len() > self.limit && line.last() != Some(&b'\n') {
                return Err(FetchError::TooLarge { limit: self.limit });
            }
            let text = std::str::from_utf8(&line)
                .map_err(|e| FetchError::InvalidUtf8 { offset: e.valid_up_to() })?;
            let text = text.strip_suffix('\n').unwrap_or(text);
            let text = text.strip_suffix('\r').unwrap_or(text);
            if text.is_empty() {
                if data.ends_with('\n') {
                    data.pop();
                }
                if !data.is_empty() {
                    let name = if name.is_empty() { "message".to_owned() } else { name };
                    return Ok(Some(Event { name, data }));
                }
                name.clear();
                continue;
            }
            if text.starts_with(':') {
                continue; // a comment (keep-alive)
            }
            let (field, value) = match text.split_once(':') {
                Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
                None => (text, ""),
            };
            match field {
                "event" => value.clone_into(&mut name),
                "data" => {
                    if data.len() + value.len() + 1 > self.limit {
                        return Err(FetchError::TooLarge { limit: self.limit });
                    }
                    data.push_str(value);
                    data.push('\n');
                }
                _ => {} // id, retry: toolreg never resumes a stream
            }
        }
    }
}

/// Whether a read failed on a timeout (ureq wraps its own error in the `io::Error`).
fn timed_out(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::TimedOut
        || error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<ureq::Error>())
            .is_some_and(|inner| matches!(inner, ureq::Error::Timeout(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(text: &[u8], limit: usize) -> Result<Vec<Event>, FetchError> {
        let mut events = Events::new(text, limit);
        let mut all = Vec::new();
        while let Some(event) = events.next_event()? {
            all.push(event);
        }
        Ok(all)
    }

    fn event(name: &str, data: &str) -> Event {
        Event { name: name.into(), data: data.into() }
    }

    #[test]
    fn skips_the_priming_event_and_comments() {
        let stream =
            b"id: 1\ndata:\n\nid: 1\ndata: \n\n: keep-alive\nevent: message\nid: 2\ndata: {\"id\":1}\n\n";
        assert_eq!(events(stream, 1024).unwrap(), vec![event("message", "{\"id\":1}")]);
    }

    #[test]
    fn joins_data_lines_and_accepts_crlf() {
        let stream = b"event: endpoint\r\ndata: /message\r\ndata: ?a=1\r\n\r\ndata:x\n\n";
        assert_eq!(
            events(stream, 1024).unwrap(),
            vec![event("endpoint", "/message\n?a=1"), event("message", "x")]
        );
    }

    #[test]
    fn an_unfinished_event_is_not_dispatched() {
        assert_eq!(events(b"data: half", 1024).unwrap(), vec![]);
    }

    #[test]
    fn bounds_lines_and_events() {
        let long_line = format!("data: {}\n\n", "x".repeat(100));
        assert!(matches!(events(long_line.as_bytes(), 50), Err(FetchError::TooLarge { limit: 50 })));
        let many_lines = "data: xxxxxxxxxx\n".repeat(10);
        assert!(matches!(events(many_lines.as_bytes(), 50), Err(FetchError::TooLarge { .. })));
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        assert!(matches!(events(b"data: \xff\n\n", 50), Err(FetchError::InvalidUtf8 { offset: 6 })));
    }
}
