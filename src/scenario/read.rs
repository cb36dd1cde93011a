//! Reads a scenario file's bytes without trusting the path: a FIFO, a device such as
//! `/dev/zero` or a file of gigabytes is refused, not read until memory or patience runs out.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The largest scenario file firedrill reads, in bytes. Real scenarios are a few KiB; the bound
/// keeps every later pass (YAML, positions, hashing) cheap.
pub const MAX_SCENARIO_BYTES: u64 = 1024 * 1024;

/// Why a scenario file was not read, in words for the person who named it.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The path could not be opened or read.
    #[error("cannot read the scenario file: {0}")]
    Io(#[from] std::io::Error),
    /// The path is a directory, FIFO, socket or device.
    #[error("the scenario file is {0}, not a regular file; give the path of a .yaml file")]
    NotRegular(&'static str),
    /// The file is larger than [`MAX_SCENARIO_BYTES`].
    #[error("the scenario file is larger than {MAX_SCENARIO_BYTES} bytes (1 MiB); a scenario is a few KiB of YAML")]
    TooLarge,
}

/// Reads the whole scenario file at `path`, refusing anything but a regular file of at most
/// [`MAX_SCENARIO_BYTES`].
pub fn read(path: &Path) -> Result<Vec<u8>, ReadError> {
    // O_NONBLOCK so that opening a FIFO with no writer returns at once instead of waiting for
    // one; the kind is then checked on the handle itself, so a path swapped between the check
    // and the read cannot slip a device past it.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        return Err(ReadError::NotRegular(describe(&kind)));
    }
    read_bounded(file)
}

/// Reads at most one byte past the limit, so a file that grows while it is read, or lies in its
/// size, still cannot make firedrill read more than that.
fn read_bounded(file: File) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    file.take(MAX_SCENARIO_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_SCENARIO_BYTES {
        return Err(ReadError::TooLarge);
    }
    Ok(bytes)
}

fn describe(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(&path, "version: 1\n").unwrap();
        assert_eq!(read(&path).unwrap(), b"version: 1\n");
    }

    #[test]
    fn a_file_of_exactly_the_limit_is_read_and_one_byte_more_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(&path, vec![b'#'; MAX_SCENARIO_BYTES as usize]).unwrap();
        assert_eq!(read(&path).unwrap().len() as u64, MAX_SCENARIO_BYTES);
        std::fs::write(&path, vec![b'#'; MAX_SCENARIO_BYTES as usize + 1]).unwrap();
        assert!(matches!(read(&path), Err(ReadError::TooLarge)));
    }

    #[test]
    fn a_device_and_a_directory_are_refused_by_kind() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read(Path::new("/dev/zero")),
            Err(ReadError::NotRegular("a character device"))
        ));
        assert!(matches!(
            read(dir.path()),
            Err(ReadError::NotRegular("a directory"))
        ));
    }

    #[test]
    fn a_symlink_is_judged_by_what_it_opens() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("s.yaml");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert!(matches!(
            read(&link),
            Err(ReadError::NotRegular("a character device"))
        ));
    }

    #[test]
    fn a_fifo_without_a_writer_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo.yaml");
        let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo reads it and keeps nothing.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let started = std::time::Instant::now();
        assert!(matches!(read(&path), Err(ReadError::NotRegular("a FIFO"))));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }
}
