//! `workbook setup --save FILE` and `--load FILE` on the real daemon: a saved bundle restores
//! the lab images, and truncated or foreign files are refused with a clear message (exit 2).
//!
//! Why the round trip is safe for a daemon shared with other tests and with the learner:
//! - it removes only the three lab image *tags*, each with `docker image rm` without `--force`:
//!   the daemon refuses when any container (running or not) uses the image, and such a tag is
//!   simply kept (the load then goes over it);
//! - it skips the removal when another test binary that uses the lab images is running (this
//!   crate's, `it`, in another process, or the library's unit tests), and says so;
//! - the tests of this file that need the images hold the daemon (`util::daemon()`), as every
//!   daemon test of this binary does, so none sees them missing;
//! - a guard runs `workbook setup` when the test ends, whether it passed, failed or panicked, so
//!   the lab images exist again (rebuilt if the load did not restore them), and the removal
//!   window is the second or so between `rm` and `--load`.

use std::path::{Path, PathBuf};

use predicates::prelude::*;

use crate::util::{self, docker, docker_ok, workbook};

const LAB: [&str; 4] = [
    "workbook/tools:latest",
    "workbook/ml-training:latest",
    "workbook/ml-api:latest",
    "workbook/postgres:latest",
];

fn daemon_answers() -> bool {
    docker_ok(&["info", "--format", "{{.ServerVersion}}"])
}

/// The image id of a tag, when present.
fn image_id(tag: &str) -> Option<String> {
    let o = docker(&["image", "inspect", "--format", "{{.Id}}", tag]);
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

fn lab_label(tag: &str) -> String {
    let o = docker(&[
        "image",
        "inspect",
        "--format",
        "{{index .Config.Labels \"workbook.lab-image\"}}",
        tag,
    ]);
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// Builds the lab images when missing or out of date (a no-op when they are up to date), and
/// returns those present: `workbook/postgres` only where it can be made (exit 1 without it).
fn setup() -> Vec<&'static str> {
    let o = workbook().arg("setup").output().unwrap();
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "workbook setup failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    LAB.into_iter().filter(|t| image_id(t).is_some()).collect()
}

/// Makes sure the lab images exist when a test ends, however it ends.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        let missing: Vec<&str> = LAB.into_iter().filter(|t| image_id(t).is_none()).collect();
        if !missing.is_empty() {
            eprintln!("restoring {}: running `workbook setup`", missing.join(", "));
        }
        let ok = workbook()
            .arg("setup")
            .output()
            .is_ok_and(|o| matches!(o.status.code(), Some(0 | 1)));
        if !ok && !std::thread::panicking() {
            panic!("`workbook setup` failed after the round trip: the lab images may be missing");
        }
    }
}

/// Other test binaries of this project that use the lab images, running now (the tests of this
/// binary that do hold the daemon lock instead).
fn other_image_users() -> Vec<String> {
    let me = std::process::id().to_string();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .flatten()
        .filter(|p| p.file_name().to_string_lossy() != me)
        .filter_map(|p| std::fs::read(p.path().join("cmdline")).ok())
        .filter_map(|cmd| {
            let argv0 = cmd.split(|b| *b == 0).next()?.to_vec();
            let argv0 = String::from_utf8_lossy(&argv0).into_owned();
            let name = Path::new(&argv0)
                .file_name()?
                .to_string_lossy()
                .into_owned();
            let users = ["it-", "workbook-"];
            (argv0.contains("/deps/") && users.iter().any(|u| name.starts_with(u))).then_some(argv0)
        })
        .collect()
}

fn save(path: &Path) -> String {
    let out = workbook()
        .arg("setup")
        .arg("--save")
        .arg(path)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8_lossy(&out).into_owned()
}

fn leftovers(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".part"))
        .collect()
}

#[test]
fn save_then_load_restores_the_lab_images() {
    if !daemon_answers() {
        eprintln!("skipped: no Docker daemon");
        return;
    }
    let _daemon = util::daemon();
    let _restore = Restore;
    let lab = setup();
    let saved = format!("saved {} images (", lab.len());
    let loaded = format!("loaded {} images (", lab.len());
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("lab-images.tar.gz");
    let plain = dir.path().join("lab-images.tar");

    let said = save(&gz);
    assert!(said.contains(&saved), "{said}");
    assert!(said.contains("lab-images.tar.gz"), "{said}");
    let bytes = std::fs::read(&gz).unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "gzip-compressed");
    let said = save(&plain);
    assert!(said.contains(&saved), "{said}");
    let tar = std::fs::read(&plain).unwrap();
    assert_eq!(&tar[257..262], b"ustar", "a plain tar for *.tar");
    assert!(tar.len() > bytes.len(), "gzip made it smaller");
    assert!(leftovers(dir.path()).is_empty(), "no temporary file left");

    // Remove the tags (never with force: a tag that a container uses stays).
    let others = other_image_users();
    let mut removed = Vec::new();
    if others.is_empty() {
        for tag in lab.iter().rev() {
            if docker(&["image", "rm", tag]).status.success() {
                removed.push(*tag);
            }
        }
    } else {
        eprintln!(
            "note: other tests use the lab images ({}): loading over them without removing them",
            others.join(", ")
        );
    }
    for tag in &removed {
        assert!(image_id(tag).is_none(), "{tag} was removed");
    }
    eprintln!("removed before --load: {removed:?}");

    workbook()
        .arg("setup")
        .arg("--load")
        .arg(&gz)
        .assert()
        .success()
        .stdout(
            predicate::str::contains(loaded.clone())
                .and(predicate::str::contains("present and up to date")),
        );
    for tag in &lab {
        assert!(image_id(tag).is_some(), "{tag} is back after --load");
        assert_eq!(lab_label(tag), "true", "{tag} is the workbook's");
    }
    // The plain tar loads too (over the images now present).
    workbook()
        .arg("setup")
        .arg("--load")
        .arg(&plain)
        .assert()
        .success()
        .stdout(predicate::str::contains(loaded));
}

#[test]
fn truncated_and_foreign_files_are_refused() {
    if !daemon_answers() {
        eprintln!("skipped: no Docker daemon");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("lab.tar.gz");
    let plain = dir.path().join("lab.tar");
    let ids_before: Vec<Option<String>>;
    {
        let _daemon = util::daemon();
        setup();
        save(&gz);
        save(&plain);
        ids_before = LAB.iter().map(|t| image_id(t)).collect();
    }

    let load = |path: &Path| {
        workbook()
            .arg("setup")
            .arg("--load")
            .arg(path)
            .assert()
            .code(2)
    };
    // Cut copies: half of the gzip, half of the tar.
    for (from, name) in [(&gz, "cut.tar.gz"), (&plain, "cut.tar")] {
        let bytes = std::fs::read(from).unwrap();
        let cut = dir.path().join(name);
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        load(&cut).stderr(
            predicate::str::contains("is truncated or damaged")
                .and(predicate::str::contains("nothing was loaded"))
                .and(predicate::str::contains("panicked").not()),
        );
    }
    // Random bytes.
    let mut noise = Vec::with_capacity(64 * 1024);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    while noise.len() < 64 * 1024 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.extend_from_slice(&x.to_le_bytes());
    }
    noise[0] = b'#';
    let random = dir.path().join("random.tar.gz");
    std::fs::write(&random, &noise).unwrap();
    load(&random).stderr(
        predicate::str::contains("is not a workbook bundle")
            .and(predicate::str::contains("workbook setup --save")),
    );
    // A tar of something else, and a missing file.
    let other = dir.path().join("notes.tar");
    {
        let mut b = tar::Builder::new(std::fs::File::create(&other).unwrap());
        let mut h = tar::Header::new_ustar();
        h.set_size(5);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "notes.txt", &b"hello"[..]).unwrap();
        b.finish().unwrap();
    }
    load(&other).stderr(predicate::str::contains("not of Docker images"));
    load(&dir.path().join("nowhere.tar.gz")).stderr(predicate::str::contains("does not exist"));

    // Nothing was loaded: the lab images are those of before.
    let _daemon = util::daemon();
    let ids_after: Vec<Option<String>> = LAB.iter().map(|t| image_id(t)).collect();
    assert_eq!(ids_before, ids_after);
}

#[test]
fn unwritable_targets_and_conflicting_flags_are_refused() {
    if !daemon_answers() {
        eprintln!("skipped: no Docker daemon");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    workbook()
        .arg("setup")
        .arg("--save")
        .arg(dir.path().join("no/such/folder/lab.tar.gz"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not exist").and(predicate::str::contains("mkdir")));
    workbook()
        .arg("setup")
        .arg("--save")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is a folder"));
    workbook()
        .args(["setup", "--save", "a.tar.gz", "--load", "b.tar.gz"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}
