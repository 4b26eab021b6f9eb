fn main() {
    eprintln!("tacker-server: not built yet");
    std::process::exit(1);
}
