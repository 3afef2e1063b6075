fn main() {
    if let Err(error) = cachet::cli::main() {
        eprintln!("cachet: {error:#}");
        std::process::exit(1);
    }
}
