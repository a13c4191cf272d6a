// Package atomicfile writes files so that a crash leaves either the old
// content or the new, never a mix, and the new content survives a power
// loss once Write returns: write a temporary file in the same folder,
// fsync it, rename it over the target, fsync the folder. Node folders,
// witness state and audit logs all rely on it.
package atomicfile
