//! One view of "what is mounted at this path" across the places the Engine reports it:
//! `.Mounts` (volumes, binds, `--mount type=tmpfs`), `.HostConfig.Tmpfs` (`--tmpfs`), and
//! `.HostConfig.Mounts[].TmpfsOptions` (the size of a `--mount type=tmpfs`).

use bollard::models::{ContainerInspectResponse, HostConfig, MountType};

use super::{host_path, size};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountView {
    /// "volume", "bind", "tmpfs", ...
    pub typ: String,
    /// Volume name for volumes.
    pub name: Option<String>,
    /// Host path for binds (and the volume's folder for volumes), as the engine reports it.
    pub source: Option<String>,
    /// For binds: the host path the client gave (`HostConfig.Binds`, `HostConfig.Mounts`),
    /// which the engine keeps as sent. Docker Desktop reports `source` in its VM's form.
    pub client_source: Option<String>,
    pub destination: String,
    pub read_only: bool,
    /// For tmpfs: the size limit in bytes, `None` when unlimited.
    pub tmpfs_size: Option<u64>,
    /// For tmpfs: the size text when it could not be read as bytes (e.g. "50%").
    pub tmpfs_size_text: Option<String>,
}

pub use super::host_path::same_path;

/// Every mount of a container.
pub fn all(info: &ContainerInspectResponse) -> Vec<MountView> {
    let host = info.host_config.as_ref();
    let mut out: Vec<MountView> = info
        .mounts
        .iter()
        .flatten()
        .map(|m| {
            let typ = m.typ.clone().unwrap_or_default();
            let destination = m.destination.clone().unwrap_or_default();
            let (tmpfs_size, tmpfs_size_text) = if typ == "tmpfs" {
                host.and_then(|h| h.mounts.as_ref())
                    .and_then(|ms| {
                        ms.iter().find(|hm| {
                            hm.target
                                .as_deref()
                                .is_some_and(|t| same_path(t, &destination))
                        })
                    })
                    .and_then(|hm| hm.tmpfs_options.as_ref())
                    .and_then(|o| o.size_bytes)
                    .filter(|b| *b > 0)
                    .map(|b| (Some(b as u64), None))
                    .unwrap_or((None, None))
            } else {
                (None, None)
            };
            let client_source = if typ == "bind" {
                client_source(host, &destination)
            } else {
                None
            };
            MountView {
                typ,
                name: m.name.clone().filter(|n| !n.is_empty()),
                source: m.source.clone().filter(|s| !s.is_empty()),
                client_source,
                destination,
                read_only: !m.rw.unwrap_or(true),
                tmpfs_size,
                tmpfs_size_text,
            }
        })
        .collect();
    // `--tmpfs DEST[:OPTIONS]` mounts appear only here.
    for (dest, options) in host.and_then(|h| h.tmpfs.as_ref()).into_iter().flatten() {
        if out.iter().any(|m| same_path(&m.destination, dest)) {
            continue;
        }
        let opts: Vec<&str> = options.split(',').map(str::trim).collect();
        let size_text = opts.iter().find_map(|o| o.strip_prefix("size="));
        let (tmpfs_size, tmpfs_size_text) = match size_text {
            None => (None, None),
            Some(text) => match size::parse(text) {
                Ok(bytes) => (Some(bytes), None),
                Err(_) => (None, Some(text.to_string())),
            },
        };
        out.push(MountView {
            typ: "tmpfs".to_string(),
            name: None,
            source: None,
            client_source: None,
            destination: dest.clone(),
            read_only: opts.contains(&"ro"),
            tmpfs_size,
            tmpfs_size_text,
        });
    }
    out
}

/// The host path the client asked to bind at `destination`: `-v SRC:DEST` is kept in
/// `HostConfig.Binds`, `--mount type=bind,...` (and Compose v2) in `HostConfig.Mounts`.
fn client_source(host: Option<&HostConfig>, destination: &str) -> Option<String> {
    let host = host?;
    let from_binds = host
        .binds
        .iter()
        .flatten()
        .find_map(|b| host_path::bind_source(b, destination));
    let from_mounts = || {
        host.mounts.iter().flatten().find_map(|m| {
            let bind = m.typ == Some(MountType::BIND);
            let here = m
                .target
                .as_deref()
                .is_some_and(|t| same_path(t, destination));
            (bind && here).then(|| m.source.clone()).flatten()
        })
    };
    from_binds
        .map(str::to_string)
        .or_else(from_mounts)
        .filter(|s| !s.is_empty())
}

/// The mount at `destination`, if any.
pub fn at(info: &ContainerInspectResponse, destination: &str) -> Option<MountView> {
    all(info)
        .into_iter()
        .find(|m| same_path(&m.destination, destination))
}

/// "a volume mount of volume `data`", "a read-only bind mount of /srv/x", for messages.
pub fn describe(m: &MountView) -> String {
    let ro = if m.read_only {
        "read-only"
    } else {
        "read-write"
    };
    match m.typ.as_str() {
        "volume" => match &m.name {
            Some(n) if n.len() == 64 && n.chars().all(|c| c.is_ascii_hexdigit()) => {
                format!(
                    "{} is a volume mount ({ro}) of an anonymous volume",
                    m.destination
                )
            }
            Some(n) => format!("{} is a volume mount ({ro}) of volume `{n}`", m.destination),
            None => format!("{} is a volume mount ({ro})", m.destination),
        },
        "bind" => format!(
            "{} is a bind mount ({ro}) of {}",
            m.destination,
            m.source.as_deref().unwrap_or("?")
        ),
        "tmpfs" => format!("{} is a tmpfs mount ({ro})", m.destination),
        other => format!("{} is a {other} mount ({ro})", m.destination),
    }
}

/// "nothing is mounted at /app/data (mounts: /data)".
pub fn nothing_at(info: &ContainerInspectResponse, destination: &str) -> String {
    let dests: Vec<String> = all(info).into_iter().map(|m| m.destination).collect();
    if dests.is_empty() {
        format!("nothing is mounted at {destination} (the container has no mounts)")
    } else {
        format!(
            "nothing is mounted at {destination} (mounts: {})",
            dests.join(", ")
        )
    }
}
