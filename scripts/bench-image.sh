#!/usr/bin/env bash
# Builds the real-data fixture of ebsd-bench's compression modes: a
# debootstrapped Debian (bookworm, minbase) in a 4 GiB ext4 image, mounted
# on a loop device (or, without one, filled by mke2fs -d). It needs root
# (debootstrap chroots) and a Debian mirror. Without either it falls back to the
# largest real-file corpus at hand, /usr, and says so. Slow (minutes), so
# it is a fixture for the benchmark, not a CI step.
#
#	scripts/bench-image.sh [CACHE_DIR]    # default ~/.cache/ebsd-bench
#
# It prints the image's path on its last line, and reuses an image built
# before (delete CACHE_DIR/debian.img, or usr.img, to rebuild).
set -euo pipefail
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/ebsd-bench}
mkdir -p "$cache"
size=4G

for img in "$cache/debian.img" "$cache/usr.img"; do
	if [ -s "$img" ]; then
		echo "bench-image: reusing $img" >&2
		echo "$img"
		exit 0
	fi
done

root="$cache/debian-root"
mnt="$cache/mnt"
if [ "$(id -u)" = 0 ] && command -v debootstrap >/dev/null 2>&1; then
	rm -rf "$root" "$cache/debian.img.tmp"
	# As an installer would: debootstrap into a mounted, fresh ext4 file
	# system, so that the image holds its metadata, journal and free
	# space as a real disk does. Without a loop device, mke2fs -d copies a
	# debootstrapped tree into the image instead (a more compact layout).
	mkfs.ext4 -q -F "$cache/debian.img.tmp" "$size" 2>/dev/null || truncate -s "$size" "$cache/debian.img.tmp"
	mkdir -p "$mnt"
	if mount -o loop "$cache/debian.img.tmp" "$mnt" 2>/dev/null; then
		target=$mnt
	else
		target=$root
	fi
	if debootstrap --variant=minbase bookworm "$target" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$cache/debootstrap.log" 2>&1; then
		if [ "$target" = "$mnt" ]; then
			umount "$mnt"
		else
			rm -f "$cache/debian.img.tmp"
			mke2fs -q -t ext4 -d "$root" "$cache/debian.img.tmp" "$size"
			rm -rf "$root"
		fi
		mv "$cache/debian.img.tmp" "$cache/debian.img"
		echo "bench-image: built $cache/debian.img (debootstrap bookworm minbase, into $( [ "$target" = "$mnt" ] && echo 'a mounted ext4 image' || echo 'a directory copied by mke2fs -d'))" >&2
		echo "$cache/debian.img"
		exit 0
	fi
	[ "$target" = "$mnt" ] && umount "$mnt"
	rm -rf "$root" "$cache/debian.img.tmp"
	echo "bench-image: debootstrap failed (see $cache/debootstrap.log); falling back to /usr" >&2
else
	echo "bench-image: debootstrap needs root and the debootstrap package (apt-get install debootstrap); falling back to /usr" >&2
fi
mke2fs -q -t ext4 -d /usr "$cache/usr.img.tmp" "$size"
mv "$cache/usr.img.tmp" "$cache/usr.img"
echo "bench-image: built $cache/usr.img (a copy of /usr, not an OS install)" >&2
echo "$cache/usr.img"
