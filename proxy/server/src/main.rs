//! `switchyard` command line: see [`switchyard::cli`].

fn main() -> std::process::ExitCode {
    switchyard::cli::main()
}
