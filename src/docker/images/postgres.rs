//! `workbook/postgres`: a real PostgreSQL for exercise 12, from the official `postgres` image
//! when a registry answers, otherwise assembled from a PostgreSQL installed on this machine
//! (Debian/Ubuntu's `postgresql` package: `/usr/lib/postgresql/N/bin`): its programs, its
//! modules and shared files, and every shared library they load (as `ldd` resolves them), laid
//! over `workbook/tools` with an entrypoint that behaves like the official one.

use crate::util::error::{Error, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::rootfs::{append_dir, file_header};

/// The official image pulled when a registry answers: the major version Debian 12 ships.
pub const PULL: &str = "postgres:15";
/// The data folder, as in the official image.
pub const PGDATA: &str = "/var/lib/postgresql/data";
/// `locale -a` of an image with only the C locales (there is no libc locale data in it).
pub const LOCALE: &str = "#!/bin/sh\n# The image holds no locale data: only the C locales exist.\nif [ \"$1\" = -a ]; then printf 'C\\nPOSIX\\n'; else echo 'LANG=C'; fi\n";
/// The `postgres` user and group of the official image.
const UID: u64 = 999;

pub const ENTRYPOINT: &str = include_str!("../../../images/postgres-entrypoint.sh");

pub const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\npostgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/sh\nlearner:x:1000:1000:learner:/home/learner:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
pub const GROUP: &str = "root:x:0:\npostgres:x:999:\nlearner:x:1000:\nnogroup:x:65534:\n";

const INSTALL: &str =
    "install PostgreSQL on this machine (`sudo apt-get install postgresql` on Debian/Ubuntu) \
     and run `workbook setup` again, or set WORKBOOK_POSTGRES to the `bin` folder of a PostgreSQL \
     build (the one holding `postgres` and `pg_config`), or run `workbook setup` where a registry \
     answers (it pulls postgres:15)";

/// A PostgreSQL installed on this machine.
#[derive(Debug, Clone)]
pub struct HostPostgres {
    pub bindir: PathBuf,
    pub libdir: PathBuf,
    pub sharedir: PathBuf,
    /// `PostgreSQL 15.18 (Debian 15.18-0+deb12u1)`.
    pub version: String,
}

impl std::fmt::Display for HostPostgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} from {}", self.version, self.bindir.display())
    }
}

/// `WORKBOOK_POSTGRES`, or the newest `/usr/lib/postgresql/N/bin` holding a `postgres`.
pub fn host_postgres() -> Result<HostPostgres> {
    let bindir = match std::env::var_os("WORKBOOK_POSTGRES") {
        Some(dir) => PathBuf::from(dir),
        None => newest_debian_bindir().ok_or_else(|| {
            Error::from(format!(
                "no registry answered and no PostgreSQL is installed on this machine to build \
                 workbook/postgres from (looked for /usr/lib/postgresql/N/bin/postgres): {INSTALL}"
            ))
        })?,
    };
    if !bindir.join("postgres").is_file() {
        return Err(format!(
            "{} holds no `postgres` program (WORKBOOK_POSTGRES must name the bin folder of a \
             PostgreSQL build): {INSTALL}",
            bindir.display()
        )
        .into());
    }
    let config = bindir.join("pg_config");
    let out = Command::new(&config)
        .args(["--pkglibdir", "--sharedir", "--version"])
        .output()
        .map_err(|e| Error::io(format!("running {}", config.display()), e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    if !out.status.success() || lines.len() < 3 {
        return Err(format!(
            "{} did not say where PostgreSQL keeps its files ({}): {INSTALL}",
            config.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok(HostPostgres {
        bindir: bindir.clone(),
        libdir: PathBuf::from(lines[0]),
        sharedir: PathBuf::from(lines[1]),
        version: lines[2].trim().to_string(),
    })
}

fn newest_debian_bindir() -> Option<PathBuf> {
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let n: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").is_file().then_some((n, bin))
        })
        .collect();
    majors.sort();
    majors.pop().map(|(_, bin)| bin)
}

/// The files of the image, as one tar layer laid over `workbook/tools`.
pub struct Layer {
    pub tar: Vec<u8>,
    /// Where the collected shared libraries live (for `LD_LIBRARY_PATH`).
    pub library_dirs: Vec<String>,
    pub files: usize,
}

/// Programs, modules (but the JIT, which needs all of LLVM), shared files, the UTC time zone,
/// and every shared library `ldd` says they load.
pub fn layer(pg: &HostPostgres) -> Result<Layer> {
    let mut files: BTreeSet<PathBuf> = BTreeSet::new();
    let mut elves: Vec<PathBuf> = Vec::new();
    for entry in read_dir(&pg.bindir)? {
        if entry.is_file() {
            elves.push(entry.clone());
            files.insert(entry);
        }
    }
    for entry in read_dir(&pg.libdir)? {
        let name = entry
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if entry.is_file() && name.ends_with(".so") && !name.starts_with("llvmjit") {
            elves.push(entry.clone());
            files.insert(entry);
        }
    }
    walk(&pg.sharedir, &mut files)?;
    for zone in ["UTC", "Etc/UTC", "GMT", "Etc/GMT"] {
        let p = Path::new("/usr/share/zoneinfo").join(zone);
        if p.is_file() {
            files.insert(p);
        }
    }
    let mut library_dirs: BTreeSet<String> = BTreeSet::new();
    for lib in libraries(&elves)? {
        if let Some(dir) = lib.parent() {
            library_dirs.insert(dir.to_string_lossy().into_owned());
        }
        files.insert(lib);
    }
    let count = files.len();
    let tar = assemble(&files)?;
    Ok(Layer {
        tar,
        library_dirs: library_dirs.into_iter().collect(),
        files: count,
    })
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, files: &mut BTreeSet<PathBuf>) -> Result<()> {
    for p in read_dir(dir)? {
        if p.is_dir() {
            walk(&p, files)?;
        } else if p.is_file() {
            files.insert(p);
        }
    }
    Ok(())
}

/// The shared libraries (and the program interpreter) the ELF files load, by `ldd`.
fn libraries(elves: &[PathBuf]) -> Result<BTreeSet<PathBuf>> {
    let mut out = BTreeSet::new();
    for chunk in elves.chunks(64) {
        let run = Command::new("ldd").args(chunk).output().map_err(|e| {
            Error::io(
                "running `ldd` (it lists the shared libraries PostgreSQL needs)",
                e,
            )
        })?;
        let text = String::from_utf8_lossy(&run.stdout);
        for (line, missing) in parse_ldd(&text) {
            if missing {
                return Err(format!(
                    "a shared library PostgreSQL needs is not on this machine: {line}"
                )
                .into());
            }
            out.insert(PathBuf::from(line));
        }
    }
    Ok(out)
}

/// The absolute paths in `ldd` output (`libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x…)`,
/// `/lib64/ld-linux-x86-64.so.2 (0x…)`), each with whether it is "not found".
fn parse_ldd(text: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.ends_with(':') || line.is_empty() {
            continue;
        }
        if let Some((name, rest)) = line.split_once("=>") {
            let rest = rest.trim();
            if rest.starts_with("not found") {
                out.push((name.trim().to_string(), true));
            } else if let Some(path) = rest
                .split_whitespace()
                .next()
                .filter(|p| p.starts_with('/'))
            {
                out.push((path.to_string(), false));
            }
        } else if let Some(path) = line
            .split_whitespace()
            .next()
            .filter(|p| p.starts_with('/'))
        {
            out.push((path.to_string(), false));
        }
    }
    out
}

fn assemble(files: &BTreeSet<PathBuf>) -> Result<Vec<u8>> {
    let err = |e: std::io::Error| Error::io("assembling workbook/postgres", e);
    let mut b = tar::Builder::new(Vec::new());
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    for (path, mode, uid) in [
        ("var", 0o755, 0),
        ("var/lib", 0o755, 0),
        ("var/lib/postgresql", 0o755, UID),
        ("var/lib/postgresql/data", 0o700, UID),
        ("var/run", 0o755, 0),
        ("var/run/postgresql", 0o3777, UID),
        ("docker-entrypoint-initdb.d", 0o755, 0),
    ] {
        append_dir(&mut b, path, mode, uid).map_err(err)?;
    }
    for file in files {
        let rel = file.strip_prefix("/").unwrap_or(file);
        for parent in rel.ancestors().skip(1) {
            if parent.as_os_str().is_empty() || dirs.contains(parent) {
                continue;
            }
            dirs.insert(parent.to_path_buf());
        }
    }
    for d in &dirs {
        append_dir(&mut b, &d.to_string_lossy(), 0o755, 0).map_err(err)?;
    }
    // initdb asks `locale -a` which locales to import as collations: the image has C and POSIX.
    let mut h = file_header(LOCALE.len() as u64, 0o755);
    b.append_data(&mut h, "usr/bin/locale", LOCALE.as_bytes())
        .map_err(err)?;
    for file in files {
        let bytes =
            std::fs::read(file).map_err(|e| Error::io(format!("reading {}", file.display()), e))?;
        let mode = std::fs::metadata(file)
            .map(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.permissions().mode() & 0o7777
            })
            .unwrap_or(0o644);
        let rel = file.strip_prefix("/").unwrap_or(file);
        let mut h = file_header(bytes.len() as u64, mode);
        b.append_data(&mut h, rel, &bytes[..]).map_err(err)?;
    }
    b.into_inner().map_err(err)
}

/// The Dockerfile over `workbook/tools` (offline) or the official image (pulled).
pub fn dockerfile(from: &str, host: Option<(&HostPostgres, &Layer)>) -> String {
    match host {
        None => format!(
            "FROM {from}\n\
             LABEL workbook.postgres.source=\"pulled {from}\"\n"
        ),
        Some((pg, layer)) => format!(
            "FROM {from}\n\
             ADD postgres.tar /\n\
             COPY passwd /etc/passwd\n\
             COPY group /etc/group\n\
             COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh\n\
             ENV PATH={bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
             PGDATA={PGDATA} LD_LIBRARY_PATH={libs}\n\
             LABEL workbook.postgres.source=\"{source}\"\n\
             VOLUME {PGDATA}\n\
             ENTRYPOINT [\"docker-entrypoint.sh\"]\n\
             STOPSIGNAL SIGINT\n\
             EXPOSE 5432\n\
             CMD [\"postgres\"]\n",
            bin = pg.bindir.display(),
            libs = layer.library_dirs.join(":"),
            source = pg.to_string().replace('"', "'"),
        ),
    }
}

/// Whether this machine's programs can run on the engine: an engine on another architecture
/// (an arm64 Mac's VM with an amd64 host copy, say) cannot run them.
pub fn same_arch(engine_arch: Option<&str>) -> std::result::Result<(), String> {
    let host = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    match engine_arch {
        Some(a) if a != host => Err(format!(
            "the engine runs {a} programs and this machine's PostgreSQL is {host}: {INSTALL}"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_is_read() {
        let text = "/usr/lib/postgresql/15/bin/psql:\n\
            \tlinux-vdso.so.1 (0x00007ffc)\n\
            \tlibpq.so.5 => /lib/x86_64-linux-gnu/libpq.so.5 (0x00007f)\n\
            \tlibgone.so.2 => not found\n\
            \t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        assert_eq!(
            parse_ldd(text),
            vec![
                ("/lib/x86_64-linux-gnu/libpq.so.5".to_string(), false),
                ("libgone.so.2".to_string(), true),
                ("/lib64/ld-linux-x86-64.so.2".to_string(), false),
            ]
        );
    }

    #[test]
    fn arch_mismatch_is_said() {
        assert!(same_arch(None).is_ok());
        assert!(same_arch(Some("s390x")).unwrap_err().contains("s390x"));
    }

    #[test]
    fn the_host_layer_holds_the_server_and_its_libraries() {
        let Ok(pg) = host_postgres() else { return };
        let layer = layer(&pg).unwrap();
        let mut a = tar::Archive::new(&layer.tar[..]);
        let names: Vec<String> = a
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        let bin = pg
            .bindir
            .strip_prefix("/")
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for want in ["postgres", "initdb", "psql", "pg_dump", "pg_isready"] {
            assert!(names.contains(&format!("{bin}/{want}")), "{want} missing");
        }
        assert!(names.iter().any(|n| n.contains("libpq.so")), "no libpq");
        assert!(
            names.iter().any(|n| n.ends_with("postgres.bki")),
            "no share files"
        );
        assert!(!names.iter().any(|n| n.contains("llvmjit")));
    }
}
