package powerloss

import (
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// mortalFS is the file system as one process sees it, so that the process
// can be killed while the machine stays up: the page cache survives a
// process, not a power cut. That is the window of review finding F1: a
// process dies, the next one recovers from files whose directory entries
// were never synced and keeps acknowledging writes into them, and only a
// later power cut shows the loss.
//
// Killing the process must not stop its goroutines (Pebble panics on a
// failed write, and in-process goroutines cannot be stopped), so a killed
// process goes on in a world of its own: a full copy of the file system at
// the instant of the kill, which nothing checks. Every operation holds mu
// shared and kill holds it exclusively, so no operation straddles the kill.
type mortalFS struct {
	mem *vfs.MemFS
	// ordered are the directories whose entries become durable in the
	// order they are made, as a journaling file system (ext4, XFS) makes
	// them: Pebble's. MemFS drops unsynced entries independently of one
	// another, and Pebble, which creates a manifest and then the marker
	// naming it, cannot open a store whose marker survived a crash that
	// its manifest did not. The harness keeps that harsher model for the
	// pack directory, whose durability is ebsd's own argument.
	ordered []string

	mu      sync.RWMutex
	dead    bool
	private *vfs.MemFS // the dead process's world, nil while it lives
}

func newMortalFS(mem *vfs.MemFS, ordered ...string) *mortalFS {
	return &mortalFS{mem: mem, ordered: ordered}
}

// entryMade makes the entry just made or removed at name durable at once
// when its directory is ordered (a stronger model than ordering alone, and
// as harsh on ebsd's own files, which live elsewhere). mu must be held.
func (m *mortalFS) entryMade(name string, err error) error {
	if err != nil || m.dead {
		return err
	}
	dir := m.mem.PathDir(name)
	for _, o := range m.ordered {
		if dir == o {
			d, err := m.mem.OpenDir(dir)
			if err != nil {
				return err
			}
			defer d.Close()
			return d.Sync()
		}
	}
	return nil
}

// kill ends the process: from now on nothing it does reaches mem.
func (m *mortalFS) kill() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return
	}
	m.private = m.mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 100, RNG: rand.New(rand.NewPCG(1, 2))})
	m.dead = true
}

// cut returns what a power cut would leave of mem now. It holds mu
// exclusively, so that no operation of this process is inside mem while it
// is cloned: MemFS.Lock takes MemFS's clone lock shared twice over, which
// deadlocks against a CrashClone waiting between the two.
func (m *mortalFS) cut(cfg vfs.CrashCloneCfg) *vfs.MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mem.CrashClone(cfg)
}

// fs returns the file system the process sees now; mu must be held.
func (m *mortalFS) fs() *vfs.MemFS {
	if m.dead {
		return m.private
	}
	return m.mem
}

func (m *mortalFS) file(name string, f vfs.File, err error) (vfs.File, error) {
	return m.handle(name, f, err, false)
}

func (m *mortalFS) handle(name string, f vfs.File, err error, dir bool) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return &mortalFile{fs: m, name: name, f: f, born: m.fs(), dir: dir}, nil
}

func (m *mortalFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	f, err := m.fs().Create(name, c)
	return m.file(name, f, m.entryMade(name, err))
}

func (m *mortalFS) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	f, err := m.fs().Open(name, opts...)
	return m.file(name, f, err)
}

func (m *mortalFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	f, err := m.fs().OpenReadWrite(name, c, opts...)
	return m.file(name, f, m.entryMade(name, err))
}

func (m *mortalFS) OpenDir(name string) (vfs.File, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	f, err := m.fs().OpenDir(name)
	return m.handle(name, f, err, true)
}

func (m *mortalFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	f, err := m.fs().ReuseForWrite(oldname, newname, c)
	return m.file(newname, f, m.entryMade(newname, err))
}

func (m *mortalFS) Link(oldname, newname string) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.entryMade(newname, m.fs().Link(oldname, newname))
}

func (m *mortalFS) Remove(name string) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.entryMade(name, m.fs().Remove(name))
}

func (m *mortalFS) RemoveAll(name string) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.fs().RemoveAll(name)
}

func (m *mortalFS) Rename(oldname, newname string) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.entryMade(newname, m.fs().Rename(oldname, newname))
}

func (m *mortalFS) MkdirAll(dir string, perm os.FileMode) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.fs().MkdirAll(dir, perm)
}

func (m *mortalFS) List(dir string) ([]string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.fs().List(dir)
}

func (m *mortalFS) Stat(name string) (vfs.FileInfo, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.fs().Stat(name)
}

func (m *mortalFS) Lock(name string) (io.Closer, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.fs().Lock(name)
}

func (m *mortalFS) PathBase(p string) string                     { return m.mem.PathBase(p) }
func (m *mortalFS) PathJoin(elem ...string) string               { return m.mem.PathJoin(elem...) }
func (m *mortalFS) PathDir(p string) string                      { return m.mem.PathDir(p) }
func (m *mortalFS) Unwrap() vfs.FS                               { return nil }
func (m *mortalFS) GetDiskUsage(p string) (vfs.DiskUsage, error) { return m.mem.GetDiskUsage(p) }

// mortalFile is a file of a mortalFS. A file opened before the kill moves
// to the dead process's world at its first use after it, so that the
// process keeps reading what it wrote while mem sees nothing more. It
// keeps its own position, since the handle it moves to starts at 0.
type mortalFile struct {
	fs   *mortalFS
	name string
	dir  bool
	pos  int64
	// mu guards the move of the handle to the dead world: two goroutines
	// using the file at once after the kill (an append and a sync, say)
	// would otherwise both move it, and one would close the handle the
	// other writes through. Before the kill nothing moves it (fs.dead only
	// changes under fs.mu held exclusively), so reads of f need no lock.
	mu   sync.Mutex
	born *vfs.MemFS // the world the handle f was opened in
	f    vfs.File
}

// handle returns the handle to use now; fs.mu must be held.
func (f *mortalFile) handle() vfs.File {
	if !f.fs.dead {
		return f.f
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.born != f.fs.private {
		// Reopen in the dead world. A file unlinked before the kill is not
		// there: its node is reachable from no directory of mem, so
		// writing to it there cannot be seen.
		var g vfs.File
		var err error
		if f.dir {
			g, err = f.fs.private.OpenDir(f.name)
		} else {
			g, err = f.fs.private.Open(f.name)
			if err == nil {
				g.Close()
				g, err = f.fs.private.OpenReadWrite(f.name, vfs.WriteCategoryUnspecified)
			}
		}
		if err == nil {
			f.f.Close()
			f.f, f.born = g, f.fs.private
		} else {
			f.born = f.fs.private // keep the unlinked node
		}
	}
	return f.f
}

func (f *mortalFile) Read(p []byte) (int, error) {
	f.fs.mu.RLock()
	defer f.fs.mu.RUnlock()
	n, err := f.handle().ReadAt(p, f.pos)
	f.pos += int64(n)
	if n > 0 && err != nil {
		err = nil // io.Reader: report the bytes now, the error on the next call
	}
	return n, err
}

func (f *mortalFile) Write(p []byte) (int, error) {
	f.fs.mu.RLock()
	defer f.fs.mu.RUnlock()
	n, err := f.handle().WriteAt(p, f.pos)
	f.pos += int64(n)
	return n, err
}

func (f *mortalFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.RLock()
	defer f.fs.mu.RUnlock()
	return f.handle().ReadAt(p, off)
}

func (f *mortalFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.RLock()
	defer f.fs.mu.RUnlock()
	return f.handle().WriteAt(p, off)
}

// syncLatency is how long a sync takes: on a real disk it is the slowest
// step by far, and the wider the window between a write and its sync, the
// more kills land in it.
const syncLatency = 300 * time.Microsecond

func (f *mortalFile) Sync() error {
	time.Sleep(syncLatency)
	f.fs.mu.RLock()
	defer f.fs.mu.RUnlock()
	return f.handle().Sync()
}

func (f *mortalFile) SyncData() error {
	time.Sleep(syncLatency)
	f.fs.mu.RLock()
	defer f.fs.mu.RUnlock()
	return f.handle().SyncData()
}

func (f *mortalFile) SyncTo(length int64) (bool, error) {
	f.fs.mu.RLock()
	defer f.fs.mu.RUnlock()
	return f.handle().SyncTo(length)
}

func (f *mortalFile) Preallocate(off, length int64) error {
	f.fs.mu.RLock()
	defer f.fs.mu.RUnlock()
	return f.handle().Preallocate(off, length)
}

func (f *mortalFile) Stat() (vfs.FileInfo, error) {
	f.fs.mu.RLock()
	defer f.fs.mu.RUnlock()
	return f.handle().Stat()
}

func (f *mortalFile) Prefetch(off, length int64) error { return nil }
func (f *mortalFile) Fd() uintptr                      { return vfs.InvalidFd }

func (f *mortalFile) Close() error {
	f.fs.mu.RLock()
	defer f.fs.mu.RUnlock()
	return f.f.Close()
}
