package main

// Version is wgxdp's version, printed by --version.
const Version = "0.1.0"
