//! The `raiox` command: a thin front over the `raiox` library.
fn main() -> std::process::ExitCode {
    raiox::cli::main()
}
