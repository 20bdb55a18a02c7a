module github.com/wgxdp/wgxdp/asm/amd64/_gen

go 1.26.8
