//! `mdbook-workbook`: the mdBook preprocessor that puts the exercises' tasks into the lessons
//! (see `book.toml`). Everything lives in [`workbook::curriculum::book`]; this only hands over the exit code.
fn main() {
    std::process::exit(workbook::curriculum::book::main());
}
