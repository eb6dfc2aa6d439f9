//! The `akash` binary: see the library's documentation for the commands.

fn main() -> std::process::ExitCode {
    akash_cli::main_with_args(std::env::args_os())
}
