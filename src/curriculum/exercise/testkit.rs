//! A minimal exercise for the tests, and the same with another check.

pub(super) const MINIMAL: &str = r#"
format = 1
title = "T"
lesson = "t.md"
[[steps]]
id = "a"
title = "A"
task = "do"
hint = "h"
  [[steps.checks]]
  kind = "volume"
  name = "v"
"#;

pub(super) fn with_check(check: &str) -> String {
    MINIMAL.replace("  kind = \"volume\"\n  name = \"v\"\n", check)
}
