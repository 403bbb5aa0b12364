//! `mdbook-workbook`: the mdBook preprocessor that puts the exercises' tasks into the lessons
//! (see `book.toml`). Everything lives in [`workbook::curriculum::book`]; this only hands over the exit code.
fn main() -> std::process::ExitCode {
    // book::main ends with 0, 1 or 2.
    std::process::ExitCode::from(u8::try_from(workbook::curriculum::book::main()).unwrap_or(2))
}
