//! The disk check: free space on the file system of the daemon's data root.

use crate::util::error::Result;
use std::path::Path;

use bollard::models::SystemInfo;

use super::{one_line, Check};
use crate::docker::endpoint::{Address, Endpoint};

/// Below this much free space on the daemon's data root, a check fails; below `DISK_WARN`, it warns.
const DISK_FAIL: u64 = 1 << 30;
const DISK_WARN: u64 = 5 << 30;

/// Free and total bytes of the file system holding `path`.
#[cfg(unix)]
// The statvfs field types differ between platforms (u32 on some, u64 on Linux).
#[allow(clippy::useless_conversion)]
fn free_space(path: &Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: statvfs only writes into the zeroed struct we own; the path is NUL-terminated.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let unit = u64::from(st.f_frsize);
    Ok((
        u64::from(st.f_bavail).saturating_mul(unit),
        u64::from(st.f_blocks).saturating_mul(unit),
    ))
}

#[cfg(not(unix))]
fn free_space(_path: &Path) -> std::io::Result<(u64, u64)> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "not measured on this platform",
    ))
}

/// Disk space in GiB with one decimal ("0.1 GiB free of 100.0 GiB"), free and total in one
/// unit so they read side by side, not [`crate::ui::bytes::human`]'s fitting unit.
fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / crate::ui::bytes::GIB as f64)
}

pub(super) fn is_desktop(info: &SystemInfo) -> bool {
    info.operating_system
        .as_deref()
        .is_some_and(|o| o.contains("Docker Desktop"))
}

pub(super) fn disk_check(ep: &Endpoint, info: &Result<SystemInfo>) -> Check {
    let info = match info {
        Ok(i) => i,
        Err(e) => {
            return Check::warn(
                "disk",
                format!(
                    "free disk not measured: the daemon's data root is unknown ({})",
                    one_line(&e.to_string())
                ),
                None,
            )
        }
    };
    let Some(root) = info.docker_root_dir.as_deref().filter(|r| !r.is_empty()) else {
        return Check::warn(
            "disk",
            "free disk not measured: the daemon did not say where it keeps its data",
            None,
        );
    };
    if matches!(ep.address, Address::Tcp(_) | Address::Ssh(_)) {
        return Check::warn(
            "disk",
            format!(
                "free disk for {root} cannot be measured: the daemon is on another machine ({})",
                ep.url()
            ),
            Some(format!("on the Docker host: `df -h {root}`")),
        );
    }
    if is_desktop(info) {
        return Check::warn(
            "disk",
            format!("free disk for {root} cannot be measured: Docker Desktop keeps it in its virtual machine"),
            Some("Docker Desktop: Settings → Resources → Advanced shows the disk limit; `docker system df` what is used".to_string()),
        );
    }
    match free_space(Path::new(root)) {
        Ok((free, total)) => disk_verdict(root, free, total),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Check::warn(
            "disk",
            format!(
                "free disk for {root} cannot be measured: that folder is not on this machine \
                 (the daemon runs in a virtual machine or elsewhere)"
            ),
            Some(format!("on the Docker host: `df -h {root}`")),
        ),
        Err(e) => Check::warn(
            "disk",
            format!("free disk for {root} cannot be measured: {e}"),
            Some(format!("`df -h {root}`")),
        ),
    }
}

fn disk_verdict(root: &str, free: u64, total: u64) -> Check {
    let summary = format!(
        "{} free of {} for the daemon's data ({root})",
        gib(free),
        gib(total)
    );
    let fix = format!(
        "free space on the disk of {root}: `docker system df` shows what Docker itself uses"
    );
    if free < DISK_FAIL {
        Check::fail("disk", format!("only {summary}"), fix)
    } else if free < DISK_WARN {
        Check::warn("disk", format!("only {summary}"), Some(fix))
    } else {
        Check::ok("disk", summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::doctor::tests::ep;
    use crate::commands::doctor::CheckStatus;

    #[test]
    fn disk_thresholds_and_remote_daemons() {
        assert_eq!(
            disk_verdict("/d", 20 << 30, 100 << 30).status,
            CheckStatus::Ok
        );
        assert_eq!(
            disk_verdict("/d", 2 << 30, 100 << 30).status,
            CheckStatus::Warn
        );
        let c = disk_verdict("/d", 100 << 20, 100 << 30);
        assert_eq!(c.status, CheckStatus::Fail);
        assert!(c.summary.starts_with("only 0.1 GiB free of 100.0 GiB"));
        let info = SystemInfo {
            docker_root_dir: Some("/var/lib/docker".into()),
            ..Default::default()
        };
        let remote = disk_check(
            &ep(Address::Tcp("h:2375".into()), "DOCKER_HOST"),
            &Ok(info.clone()),
        );
        assert_eq!(remote.status, CheckStatus::Warn);
        assert!(remote.summary.contains("cannot be measured"));
        let desktop = SystemInfo {
            operating_system: Some("Docker Desktop".into()),
            ..info
        };
        let c = disk_check(
            &ep(Address::Unix("/x.sock".into()), "the Docker Desktop socket"),
            &Ok(desktop),
        );
        assert!(c.summary.contains("Docker Desktop"));
    }

    #[cfg(unix)]
    #[test]
    fn statvfs_measures_a_local_folder() {
        let (free, total) = free_space(Path::new("/")).unwrap();
        assert!(total > 0 && free <= total);
        assert!(free_space(Path::new("/nonexistent/folder")).is_err());
        let info = SystemInfo {
            docker_root_dir: Some("/".into()),
            ..Default::default()
        };
        let c = disk_check(
            &ep(Address::Unix("/x.sock".into()), "the default socket"),
            &Ok(info),
        );
        assert!(c.summary.contains("free of"), "{}", c.summary);
    }
}
