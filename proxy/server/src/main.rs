//! `switchyard` command line: see [`switchyard::cli`].

// mimalloc: the data plane allocates small, short-lived buffers per request; glibc malloc cost
// ~6 % of a proxied request's CPU in the load benchmark, mimalloc about half of that.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    switchyard::cli::main()
}
