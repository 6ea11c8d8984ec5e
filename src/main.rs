//! The `raiox` command: a thin front over the `raiox` library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
