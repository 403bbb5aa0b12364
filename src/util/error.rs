//! The library's one error type. A command that cannot do its work ends with an [`Error`]:
//! what failed, why, and the fix, in a sentence a learner reads; where the failure came from a
//! library (the Docker daemon, the file system) the original error is kept as its `source()`.
//! The command line (`cli::main`) is the one place that shows it (inert) and maps it to exit
//! code 2.

/// A result whose error is the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Docker daemon failed or refused a request. `message` is what
    /// the Docker layer's `engine::describe` made of it (the one formatter of daemon errors), which
    /// already names what the error chain says that a learner can use.
    #[error("{message}")]
    Docker {
        message: String,
        #[source]
        source: bollard::errors::Error,
    },
    /// A file or folder could not be read or written: `what` says which and what for.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A sentence for the learner, already composed.
    #[error("{0}")]
    Message(String),
}

impl Error {
    /// The causes under this error that its message does not already say, outermost first.
    /// A Docker error's message was made from its whole chain, so it has none to add.
    pub fn causes(&self) -> Vec<String> {
        if matches!(self, Error::Docker { .. }) {
            return Vec::new();
        }
        let mut said = vec![self.to_string()];
        let mut causes = Vec::new();
        let mut cur = std::error::Error::source(self);
        while let Some(s) = cur {
            let text = s.to_string();
            if !text.is_empty() && !said.iter().any(|p| p.contains(&text)) {
                said.push(text.clone());
                causes.push(text);
            }
            cur = s.source();
        }
        causes
    }

    /// An [`Error::Io`]: `what` failed because of `source`.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}

impl From<String> for Error {
    fn from(message: String) -> Error {
        Error::Message(message)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Error {
        Error::Message(message.to_string())
    }
}

/// An error's sentence where only text is kept: a check's verdict, a fact the grader could not
/// fetch (`checks::snapshot::Fetched`), a list of problems.
impl From<Error> for String {
    fn from(e: Error) -> String {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_shows_as_written() {
        let e: Error = "cannot read lessons.toml".into();
        assert_eq!(e.to_string(), "cannot read lessons.toml");
        assert!(e.causes().is_empty());
    }

    #[test]
    fn an_io_error_says_what_and_why_once() {
        let e = Error::io(
            "cannot read progress.json",
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        );
        assert_eq!(e.to_string(), "cannot read progress.json: no such file");
        // The cause is in the message already: nothing to add.
        assert!(e.causes().is_empty());
    }

    #[test]
    fn a_cause_the_message_does_not_say_is_listed() {
        let inner = std::io::Error::other("disk full");
        let e = Error::io("cannot save", std::io::Error::other(Wrapped(inner)));
        assert_eq!(e.to_string(), "cannot save: wrapped");
        assert_eq!(e.causes(), vec!["disk full".to_string()]);
    }

    #[derive(Debug)]
    struct Wrapped(std::io::Error);
    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("wrapped")
        }
    }
    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
}
