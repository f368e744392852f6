//! Where the cache lives, creating it owner-only, and whether a file in it may be trusted.
//!
//! A cache entry is native code handed to a driver, so only files and directories owned by
//! the effective user and not writable by group or others are used. The effective uid comes
//! from `geteuid(2)` (the `libc` crate).

use super::CacheError;
use std::fs::{self, DirBuilder, Metadata};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

/// The cache directory the environment asks for: `CLBAKE_CACHE_DIR` (`off`, `0`, `false`
/// or `no` disables it), else `$XDG_CACHE_HOME/clbake/<exe>`, else
/// `$HOME/.cache/clbake/<exe>`, where `<exe>` is the running executable's file name. `None`
/// when the cache is off or no home is known.
pub fn from_env() -> Option<PathBuf> {
    match std::env::var_os(clbake_core::env::CACHE_DIR) {
        Some(v) if v.to_str().is_some_and(|v| clbake_core::env::parse_flag(clbake_core::env::CACHE_DIR, v) == Ok(false)) => None,
        Some(v) if !v.is_empty() => Some(PathBuf::from(v)),
        _ => default_for(&exe_name()),
    }
}

/// The platform cache directory for an executable called `exe`:
/// `$XDG_CACHE_HOME/clbake/<exe>` or `$HOME/.cache/clbake/<exe>` (`None` without either).
pub fn default_for(exe: &str) -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from).filter(|p| p.is_absolute());
    let base = xdg.or_else(|| std::env::var_os("HOME").map(PathBuf::from).filter(|p| p.is_absolute()).map(|h| h.join(".cache")))?;
    Some(base.join("clbake").join(sanitize(exe)))
}

/// The running executable's file name (`app` when it cannot be found).
pub fn exe_name() -> String {
    std::env::current_exe().ok().and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())).unwrap_or_else(|| "app".to_string())
}

/// A file-name-safe form of `name`: ASCII letters, digits, `_`, `-` and `.` kept, anything
/// else replaced by `_`, no leading dot, at most 64 bytes.
pub fn sanitize(name: &str) -> String {
    let mut s: String =
        name.chars().take(64).map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') { c } else { '_' }).collect();
    if s.is_empty() || s.starts_with('.') {
        s.insert(0, '_');
    }
    s
}

/// The effective user id of this process.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Why a file or directory with metadata `m` is not trusted, if it is not: it must belong
/// to the effective user and must not be writable by group or others.
pub(crate) fn untrusted_reason(m: &Metadata) -> Option<String> {
    let (uid, mode) = (m.uid(), m.mode() & 0o7777);
    if uid != euid() {
        Some(format!("owned by uid {uid}, not by this user (uid {})", euid()))
    } else if mode & 0o022 != 0 {
        Some(format!("writable by group or others (mode {mode:04o})"))
    } else {
        None
    }
}

/// Creates `dir` (and missing parents) with mode 0700 and checks that it is a directory
/// this user may trust. `follow`: whether `dir` itself may be a symbolic link (true for the
/// cache root, which a user may link elsewhere; false for directories inside it).
pub(crate) fn ensure_dir(dir: &Path, follow: bool) -> Result<(), CacheError> {
    if let Err(source) = DirBuilder::new().recursive(true).mode(0o700).create(dir) {
        return Err(CacheError::Io { op: "create directory", path: dir.to_path_buf(), source });
    }
    let meta = if follow { fs::metadata(dir) } else { fs::symlink_metadata(dir) };
    let meta = meta.map_err(|source| CacheError::Io { op: "stat", path: dir.to_path_buf(), source })?;
    if !meta.is_dir() {
        return Err(CacheError::Untrusted { path: dir.to_path_buf(), reason: "not a directory".into() });
    }
    match untrusted_reason(&meta) {
        Some(reason) => Err(CacheError::Untrusted { path: dir.to_path_buf(), reason }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn sanitize_keeps_names_inside_the_directory() {
        assert_eq!(sanitize("conv2d_relu"), "conv2d_relu");
        assert_eq!(sanitize("../../etc/passwd"), "_.._.._etc_passwd");
        assert_eq!(sanitize(".hidden"), "_.hidden");
        assert_eq!(sanitize(""), "_");
        assert_eq!(sanitize(&"x".repeat(100)).len(), 64);
    }

    #[test]
    fn created_directories_are_owner_only_and_open_ones_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        ensure_dir(&dir, true).unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let err = ensure_dir(&dir, true).unwrap_err();
        assert!(err.to_string().contains("writable by group or others"), "{err}");
    }

    #[test]
    fn a_symlink_inside_the_cache_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        ensure_dir(&real, false).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(ensure_dir(&link, false).is_err());
        assert!(ensure_dir(&link, true).is_ok());
    }
}
