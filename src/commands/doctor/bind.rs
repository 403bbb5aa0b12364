//! The bind-mount check: a folder of this machine, mounted into a helper container, shows the
//! file written into it (Docker Desktop file sharing, a remote daemon).

use std::path::{Path, PathBuf};

use bollard::models::SystemInfo;
use bollard::Docker;

use super::disk::is_desktop;
use super::images::short;
use super::Check;
use crate::docker::endpoint::{Address, Endpoint};
use crate::docker::images::{PULL_BASE, TOOLS_IMAGE};
use crate::grading::locality::{self, BindError};
use crate::learner::workspace::Workspace;

/// The folder the bind-mount probe uses: the workspace, else the current folder.
pub(super) fn bind_dir(explicit: Option<&Path>) -> PathBuf {
    if let Ok(Some(ws)) = Workspace::find(explicit) {
        return ws.root;
    }
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

/// An image the probe can be created from: the tools image, else a local busybox.
async fn probe_image(docker: &Docker) -> Option<&'static str> {
    for image in [TOOLS_IMAGE, PULL_BASE] {
        if docker.inspect_image(image).await.is_ok() {
            return Some(image);
        }
    }
    None
}

fn bind_fix(ep: &Endpoint, info: Option<&SystemInfo>, dir: &Path) -> String {
    if matches!(ep.address, Address::Tcp(_) | Address::Ssh(_)) {
        format!(
            "the daemon may run on another machine ({}) and see its own files: work on the \
             Docker host, or `unset DOCKER_HOST` to use a local daemon",
            ep.url()
        )
    } else if info.is_some_and(is_desktop) {
        format!(
            "share {} with Docker Desktop: Settings → Resources → File sharing, add it, Apply & \
             restart",
            dir.display()
        )
    } else {
        format!(
            "try it by hand: `docker run --rm -v \"{}:/probe:ro\" busybox ls /probe`",
            dir.display()
        )
    }
}

pub(super) async fn bind_check(
    docker: &Docker,
    ep: &Endpoint,
    info: Option<&SystemInfo>,
    dir: &Path,
) -> Check {
    let Some(image) = probe_image(docker).await else {
        return Check::warn(
            "bind-mount",
            format!(
                "bind mounts from {} not tested: it needs the lab image {}",
                dir.display(),
                short(TOOLS_IMAGE)
            ),
            Some("`workbook setup`, then `workbook doctor` again".to_string()),
        );
    };
    let result = locality::bind_test(docker, image, dir).await;
    let d = dir.display();
    match result {
        Ok(()) => Check::ok("bind-mount", format!("bind mounts from {d} work")),
        Err(BindError::Local(e)) => Check::warn(
            "bind-mount",
            format!("bind mounts from {d} not tested: {e}"),
            Some("run `workbook doctor` in a folder you can write to (your workspace)".to_string()),
        ),
        Err(BindError::Daemon(e)) => Check::fail(
            "bind-mount",
            format!("bind mounts from {d} do not work: {e}"),
            bind_fix(ep, info, dir),
        ),
    }
}
