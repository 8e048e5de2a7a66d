//! The file boundary. Every spec or data file seg reads is opened here (regular files
//! only: a FIFO would hang the read and a device would never end), and every output is
//! written here (never onto an input of the run, through a temporary file that a
//! signal handler or the next run removes).

use super::session::EngineError;
use std::fs::{File, Metadata};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Temporary outputs start with this; the pid after it lets a later run tell a stale
/// file (its writer is gone) from one being written right now.
const TEMP_PREFIX: &str = ".seg-tmp-";
const TEMP_SUFFIX: &str = ".tmp";

fn kind(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

fn not_regular(meta: &Metadata) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("it is {}, not a regular file", kind(meta)))
}

/// Refuses anything but a regular file (links are followed), without opening it.
/// For files that DataFusion opens itself.
pub fn ensure_regular(path: &Path) -> io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if meta.is_file() {
        Ok(())
    } else {
        Err(not_regular(&meta))
    }
}

/// Opens a regular file for reading; anything else is refused before a byte is read.
pub fn open_regular(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // Without O_NONBLOCK, opening a FIFO waits for a writer before its type can be
    // checked. On a regular file the flag changes nothing.
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    Ok(file)
}

/// Reads a regular file of at most `limit` bytes. A longer file yields `limit + 1`
/// bytes, so the caller can say it is too large without reading all of it.
pub fn read_limited(path: &Path, limit: usize) -> io::Result<Vec<u8>> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The same file, however it is named: an existing file by device and inode (which
/// also catches hard links), a new one by its canonical folder and name.
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
        return x.dev() == y.dev() && x.ino() == y.ino();
    }
    absolute(a) == absolute(b)
}

fn absolute(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.to_path_buf())
    };
    match (joined.parent().and_then(|d| d.canonicalize().ok()), joined.file_name()) {
        (Some(d), Some(n)) => d.join(n),
        _ => joined,
    }
}

/// The lock file that freezes a spec's data-dependent definitions (`SPEC.lock`).
pub fn lock_file(spec: &Path) -> PathBuf {
    let mut s = spec.as_os_str().to_os_string();
    s.push(".lock");
    PathBuf::from(s)
}

/// Everything a run reads: the spec, its lock file and every data file. No output
/// may land on any of them.
pub fn run_inputs(spec: &Path, data: &[PathBuf]) -> Vec<PathBuf> {
    let mut v = vec![spec.to_path_buf(), lock_file(spec)];
    v.extend(data.iter().cloned());
    v
}

/// The one check every writer makes before it writes: never onto an input (with or
/// without `--force`), never onto an existing file without `force`, never onto
/// something that is not a regular file.
pub fn check_output(dest: &Path, force: bool, inputs: &[PathBuf]) -> Result<(), EngineError> {
    if inputs.iter().any(|i| same_file(dest, i)) {
        return Err(EngineError::output_refused(format!(
            "refusing to write `{}`: it is an input of this run",
            dest.display()
        )));
    }
    match std::fs::metadata(dest) {
        Ok(meta) if !meta.is_file() => Err(EngineError::output_refused(format!(
            "refusing to write `{}`: {}",
            dest.display(),
            not_regular(&meta)
        ))),
        Ok(_) if !force => Err(EngineError::output_refused(format!(
            "`{}` exists; pass --force to replace it",
            dest.display()
        ))),
        _ => Ok(()),
    }
}

/// Folders this process is writing a temporary output in. A folder is registered
/// before its temporary file exists, so a signal at any moment finds the file.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

fn own_temp_prefix() -> String {
    format!("{TEMP_PREFIX}{}-", std::process::id())
}

/// Removes every temporary output this process is writing. Safe to call from the
/// signal thread at any moment: a file already renamed into place is not touched.
pub fn remove_live_temps() {
    let mine = own_temp_prefix();
    for dir in live().drain(..) {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&mine) && name.ends_with(TEMP_SUFFIX) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

fn pid_alive(pid: i32) -> bool {
    // Signal 0 checks existence only; EPERM means it exists under another user.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Removes temporary outputs in `dir` left by a writer that no longer runs (a
/// `kill -9`, a power cut). Files of live writers are left alone.
pub fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let Some(rest) = name.strip_prefix(TEMP_PREFIX) else { continue };
        if !name.ends_with(TEMP_SUFFIX) {
            continue;
        }
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if pid != std::process::id() as i32 && !pid_alive(pid) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The folder a file is in (`.` for a bare name).
pub fn folder_of(dest: &Path) -> PathBuf {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `bytes` to `dest` atomically after `check_output` (see `write_atomic_with`).
pub fn write_atomic(
    dest: &Path,
    bytes: &[u8],
    force: bool,
    inputs: &[PathBuf],
) -> Result<(), EngineError> {
    write_atomic_with(dest, force, inputs, |f| {
        f.write_all(bytes)
            .map_err(|e| EngineError::write(format!("cannot write `{}`: {e}", dest.display())))
    })
}

/// Checks `dest` with `check_output`, lets `fill` write a temporary file in the same
/// folder, flushes it and renames it into place: readers see the old file or the
/// whole new one. The new file gets the mode a plain create would (0666 less the
/// umask), or the mode of the file it replaces.
pub fn write_atomic_with(
    dest: &Path,
    force: bool,
    inputs: &[PathBuf],
    fill: impl FnOnce(&mut File) -> Result<(), EngineError>,
) -> Result<(), EngineError> {
    use std::os::unix::fs::PermissionsExt;
    check_output(dest, force, inputs)?;
    let dir = folder_of(dest);
    remove_stale_temps(&dir);
    let mode = std::fs::metadata(dest).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o666);
    live().push(dir.clone());
    let result = write_temp_then_rename(dest, &dir, mode, fill);
    // Renamed into place, or removed when its guard dropped on an error.
    let mut folders = live();
    if let Some(i) = folders.iter().position(|d| d == &dir) {
        folders.remove(i);
    }
    result
}

fn write_temp_then_rename(
    dest: &Path,
    dir: &Path,
    mode: u32,
    fill: impl FnOnce(&mut File) -> Result<(), EngineError>,
) -> Result<(), EngineError> {
    use std::os::unix::fs::PermissionsExt;
    let mut tmp = tempfile::Builder::new()
        .prefix(&own_temp_prefix())
        .suffix(TEMP_SUFFIX)
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
        .map_err(|e| {
            // tempfile appends ` at path "<temporary name>"`: a name the user never
            // chose and that no longer exists.
            let why = e.to_string();
            let why = why.split(" at path \"").next().unwrap_or_default();
            EngineError::write(format!("cannot write in `{}`: {why}", dir.display()))
        })?;
    let cannot = |e: String| EngineError::write(format!("cannot write `{}`: {e}", dest.display()));
    fill(tmp.as_file_mut())?;
    tmp.as_file().sync_all().map_err(|e| cannot(e.to_string()))?;
    tmp.persist(dest).map_err(|e| cannot(e.error.to_string()))?;
    Ok(())
}
