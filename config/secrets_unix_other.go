//go:build unix && !linux

package config

// growPipe is a no-op where pipes cannot be resized; maxSecrets fits the
// smallest pipe buffer of the BSDs and macOS (16 KiB grows on demand to 64 KiB).
func growPipe(int, int) {}
