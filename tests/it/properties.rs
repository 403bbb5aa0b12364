//! Property-based fuzzing (proptest) of the three parsers that take input from outside: the
//! exercise loader (community packs), the Markdown renderer (lessons), and the backup archive
//! validator (learners' files). None may panic, and the validator may never accept an entry
//! that escapes the volume root. `PROPTEST_CASES` sets the number of cases (default 10 000);
//! failing inputs are kept in `tests/proptest-regressions/properties.txt` (the corpus, committed;
//! proptest's default place for a module of `tests/it/`) and replayed first on every run.

use std::io::Write;

use proptest::prelude::*;
use workbook::archive::{self, Limits};
use workbook::curriculum::exercise::Exercise;
use workbook::ui::render::{render, Style};

fn cases() -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    ProptestConfig::with_cases(n)
}

const VALID_EXERCISE: &str = include_str!("../../exercises/02-bind-mounts/exercise.toml");

/// Pieces that make the loader walk deep: keys, tables, arrays of tables, odd values.
fn toml_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("format = 1\n".to_string()),
        Just("title = \"t\"\nlesson = \"l.md\"\n".to_string()),
        Just("[[steps]]\nid = \"a\"\ntitle = \"A\"\ntask = \"x\"\nhint = \"h\"\n".to_string()),
        Just("[[steps.checks]]\nkind = \"mount\"\ncontainer = \"c\"\ndestination = \"/d\"\n".to_string()),
        Just("[[steps.checks]]\nkind = \"volume-file\"\nvolume = \"v\"\npath = \"..\"\nmode = \"9z\"\n".to_string()),
        Just("[[mistakes]]\nid = \"m\"\nstep = \"zz\"\nrun = \"true\"\nexpect = \"x\"\n".to_string()),
        Just("[setup]\n[[setup.containers]]\nname = \"k\"\nimage = \"alpine\"\nvolumes = [\"/:/host\"]\n".to_string()),
        Just("kind = 3\n".to_string()),
        Just("[[steps.checks]]\nkind = \"tmpfs\"\nservice = \"s\"\ndestination = \"/t\"\nsize = \"99999999999999999999g\"\n".to_string()),
        "[ -~\n]{0,40}",
    ]
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn the_exercise_loader_never_panics(parts in prop::collection::vec(toml_fragment(), 0..12)) {
        let text: String = parts.concat();
        let _ = Exercise::parse("99-fuzz", &text);
    }

    #[test]
    fn a_damaged_exercise_never_panics(at in 0usize..VALID_EXERCISE.len(), cut in 0usize..64, insert in "[ -~\n]{0,8}") {
        let bytes = VALID_EXERCISE.as_bytes();
        let end = (at + cut).min(bytes.len());
        let mut text = String::from_utf8_lossy(&bytes[..at]).into_owned();
        text.push_str(&insert);
        text.push_str(&String::from_utf8_lossy(&bytes[end..]));
        let _ = Exercise::parse("02-bind-mounts", &text);
    }

    #[test]
    fn the_renderer_never_panics(
        parts in prop::collection::vec(prop_oneof![
            Just("# ".to_string()), Just("* ".to_string()), Just("1. ".to_string()), Just("```\n".to_string()),
            Just("> ".to_string()), Just("|a|b|\n|-|-|\n".to_string()), Just("**".to_string()), Just("_".to_string()),
            Just("`".to_string()), Just("<!-- workbook:step x -->\n".to_string()), Just("\n".to_string()),
            Just("    ".to_string()), "[ -~]{0,30}",
        ], 0..40),
        width in 40usize..120,
        color in any::<bool>(),
    ) {
        let md: String = parts.concat();
        // (A marker inside a code block is code and shows as such; lessons' markers are
        // removed before rendering by `Lesson::parse`.)
        let _ = render(&md, &Style { width, color });
    }

    #[test]
    fn random_bytes_are_never_a_valid_backup(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let _ = archive::read_backup(&bytes[..], &Limits::default());
        let _ = archive::read_tar(&bytes[..], None, &Limits::default());
    }

    #[test]
    fn an_accepted_archive_never_escapes_the_volume_root(
        entries in prop::collection::vec((
            prop_oneof![
                "[a-z]{1,8}(/[a-z]{1,8}){0,3}",
                Just("..".to_string()), Just("../x".to_string()), Just("/abs".to_string()),
                Just("./a/../../b".to_string()), Just("a//b".to_string()), Just("./".to_string()),
            ],
            0u8..4,
            prop_oneof![Just("target".to_string()), Just("/etc/passwd".to_string()), Just("../../x".to_string())],
        ), 1..8),
        damage in any::<Option<(u16, u8)>>(),
    ) {
        let mut b = tar::Builder::new(Vec::new());
        for (name, kind, target) in &entries {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(0);
            let name_bytes = name.as_bytes();
            let n = name_bytes.len().min(99);
            h.as_old_mut().name[..n].copy_from_slice(&name_bytes[..n]);
            match kind {
                0 => { h.set_entry_type(tar::EntryType::Regular); h.set_size(3); h.set_cksum(); b.append(&h, &b"abc"[..]).unwrap(); }
                1 => { h.set_entry_type(tar::EntryType::Directory); h.set_size(0); h.set_cksum(); b.append(&h, std::io::empty()).unwrap(); }
                2 => { h.set_entry_type(tar::EntryType::Symlink); h.set_size(0); let t = target.as_bytes(); h.as_old_mut().linkname[..t.len()].copy_from_slice(t); h.set_cksum(); b.append(&h, std::io::empty()).unwrap(); }
                _ => { h.set_entry_type(tar::EntryType::Char); h.set_size(0); h.set_cksum(); b.append(&h, std::io::empty()).unwrap(); }
            }
        }
        let mut tar_bytes = b.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar_bytes).unwrap();
        let mut gz_bytes = gz.finish().unwrap();
        if let Some((at, value)) = damage {
            let i = at as usize % gz_bytes.len();
            gz_bytes[i] = value;
            let j = at as usize % tar_bytes.len();
            tar_bytes[j] = value;
        }
        for manifest in [archive::read_backup(&gz_bytes[..], &Limits::default()), archive::read_tar(&tar_bytes[..], None, &Limits::default())].into_iter().flatten() {
            for (path, entry) in &manifest {
                prop_assert!(!path.starts_with('/'), "absolute path accepted: {path}");
                prop_assert!(!path.split('/').any(|p| p == ".."), "escaping path accepted: {path}");
                if let archive::EntryKind::Symlink { target } = &entry.kind {
                    prop_assert!(!target.starts_with('/'), "absolute link accepted: {path} -> {target}");
                }
            }
        }
    }
}
