//! Why a command failed, as the one line it prints on stderr and its exit code.

use std::fmt;

/// Why a command failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The arguments do not make a command (exit 2, as clap's own usage errors).
    Usage(String),
    /// Carespace refused or found nothing (exit 3), or its store failed (exit 4).
    Carespace(carespace::Error),
    /// The command will not do what was asked (exit 3): a copy into a store that is not
    /// empty.
    Refused(String),
    /// Reading or writing a file of the operator's failed (exit 4).
    File(String),
    /// `check` (or the verification after `copy`) found problems (exit 1); they are
    /// already printed.
    Problems(usize),
}

impl Failure {
    /// The exit code: 1 problems found, 2 bad arguments, 3 refused or not found by
    /// Carespace, 4 the store or a file failed.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::Problems(_) => 1,
            Self::Usage(_) => 2,
            Self::Carespace(carespace::Error::Storage(_)) | Self::File(_) => 4,
            Self::Carespace(_) | Self::Refused(_) => 3,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(message) | Self::File(message) | Self::Refused(message) => f.write_str(message),
            Self::Carespace(error) => write!(f, "{error} ({})", error.code()),
            Self::Problems(1) => f.write_str("found a problem"),
            Self::Problems(n) => write!(f, "found {n} problems"),
        }
    }
}

impl From<carespace::Error> for Failure {
    fn from(error: carespace::Error) -> Self {
        Self::Carespace(error)
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Self::File(format!("cannot write the output: {error}"))
    }
}

impl From<carespace::copy::CopyError> for Failure {
    fn from(error: carespace::copy::CopyError) -> Self {
        match error {
            carespace::copy::CopyError::Carespace(error) => Self::Carespace(error),
            refused => Self::Refused(refused.to_string()),
        }
    }
}
