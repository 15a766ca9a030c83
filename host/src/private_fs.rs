//! Files and directories the host makes for itself and trusts: the compiled-code cache (whose
//! machine code the host executes) and the state store. What the host creates is the owner's
//! alone (directories `0700`, files `0600`); what it finds is trusted only when nobody else
//! could have written it: owned by the effective user, not writable by group or others, and
//! under directories that only that user or root can change (a world-writable directory with
//! the sticky bit, such as `/tmp`, counts as safe: others cannot rename what is in it).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// Creates `dir` and its missing parents; a directory this call creates is owner-only.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes `bytes` to a new file at `path`, owner-only, replacing nothing (it fails if `path`
/// exists).
pub fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file: File = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Why `path` (a file or directory that exists) cannot be trusted, or `Ok` when only the
/// effective user (or root, for the directories above it) could have written it.
#[cfg(unix)]
pub fn check_trusted(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let path = path
        .canonicalize()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let metadata = |p: &Path| std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()));
    let own = metadata(&path)?;
    if own.uid() != me {
        return Err(format!(
            "{} belongs to user {}, not to the user running the host ({me})",
            path.display(),
            own.uid()
        ));
    }
    if own.mode() & 0o022 != 0 {
        return Err(format!(
            "{} can be written by group or others (mode {:o})",
            path.display(),
            own.mode() & 0o7777
        ));
    }
    for ancestor in path.ancestors().skip(1) {
        let above = metadata(ancestor)?;
        let sticky = above.mode() & 0o1000 != 0;
        if above.uid() != me && above.uid() != 0 {
            return Err(format!(
                "{} belongs to user {}, who could replace what is in it",
                ancestor.display(),
                above.uid()
            ));
        }
        if above.mode() & 0o022 != 0 && !sticky {
            return Err(format!(
                "{} can be written by group or others (mode {:o}), who could replace what is in it",
                ancestor.display(),
                above.mode() & 0o7777
            ));
        }
    }
    Ok(())
}

/// On systems without Unix permissions every path is trusted.
#[cfg(not(unix))]
pub fn check_trusted(_path: &Path) -> Result<(), String> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn what_it_makes_is_the_owners_alone_and_trusted() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.path().join("a")), 0o700);
        let file = dir.join("f");
        write_private_file(&file, b"x").unwrap();
        assert_eq!(mode(&file), 0o600);
        assert!(write_private_file(&file, b"y").is_err(), "never replaced");
        assert_eq!(check_trusted(&file), Ok(()));
    }

    #[test]
    fn what_others_could_write_is_not_trusted() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("cache");
        create_private_dir(&dir).unwrap();
        let file = dir.join("f");
        write_private_file(&file, b"x").unwrap();

        chmod(&file, 0o666);
        let why = check_trusted(&file).unwrap_err();
        assert!(
            why.contains("can be written by group or others (mode 666)"),
            "{why}"
        );
        chmod(&file, 0o600);

        chmod(&dir, 0o777);
        let why = check_trusted(&file).unwrap_err();
        assert!(
            why.contains("cache can be written by group or others"),
            "{why}"
        );
        chmod(&dir, 0o1777);
        assert_eq!(check_trusted(&file), Ok(()), "sticky, like /tmp");
        chmod(&dir, 0o700);
        assert_eq!(check_trusted(&dir), Ok(()));
    }
}
