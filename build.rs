// The curriculum is embedded with include_dir; rebuild when it changes.
fn main() {
    for dir in ["exercises", "lessons", "solutions"] {
        println!("cargo:rerun-if-changed={dir}");
    }
}
