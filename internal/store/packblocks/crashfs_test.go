package packblocks_test

import (
	"errors"
	"io"
	"io/fs"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// processFS is the file system as one process lifetime sees it: a
// crashable MemFS, and a crash that comes at a chosen mutating operation.
//
// Two crashes are modelled. A power loss is base.CrashClone: what was not
// synced may be lost, and the next process runs on the clone. A process
// crash (kill -9) keeps base as it is, synced or not, as the kernel's page
// cache would, and the next process runs on base itself: what was not yet
// synced stays unsynced, so a later power loss can still take it. That is
// how a recovery that forgets to sync something it reuses is caught.
//
// Once crashed the process is dead: its later writes, syncs, creations and
// removals never reach base. They are swallowed, or land in a private
// graveyard when it creates files (Pebble may read back what it wrote
// while it closes), so that the dead process can be closed cleanly before
// the next one starts.
type processFS struct {
	vfs.FS // base: every read goes there
	base   *vfs.MemFS
	grave  *vfs.MemFS

	// ordered is a directory whose entries become durable in the order they
	// are made, as on a journaling file system. See newProcessFS.
	ordered string

	crashAt atomic.Int64 // the mutating operation, counted from 1, that crashes
	ops     atomic.Int64

	// afterCreate, when positive, moves the crash to a few operations
	// after the afterCreate-th file the process creates outside ordered:
	// instants when a new file's directory entry may not be durable yet.
	afterCreate, afterCreatePlus int64
	created                      atomic.Int64

	dead    atomic.Bool
	once    sync.Once
	onCrash func() // called once, by the crashing operation, before it runs
}

// newProcessFS returns the file system of a process on base that crashes
// at its crashAt-th mutating operation, calling onCrash first.
//
// The entries of directory ordered are made durable as soon as they are
// created, renamed or removed. CrashClone loses each unsynced directory
// entry independently, which POSIX allows but journaling file systems do
// not do: they persist a directory's operations in order. Pebble relies on
// that order (it syncs its directory only after creating a manifest and
// then the marker naming it), so its directory gets it; the store's own
// directories keep the harsher model, and the store must sync them.
func newProcessFS(base *vfs.MemFS, ordered string, crashAt int64, onCrash func()) *processFS {
	p := &processFS{FS: base, base: base, grave: vfs.NewMem(), ordered: ordered, onCrash: onCrash}
	p.crashAt.Store(crashAt)
	return p
}

// crashAfterCreate moves the crash to plus operations after the nth file
// the process creates outside p.ordered (if it creates that many).
func (p *processFS) crashAfterCreate(nth, plus int64) {
	p.crashAt.Store(1 << 62)
	p.afterCreate, p.afterCreatePlus = nth, plus
}

// settle makes the entry of name durable at once if it is in p.ordered.
func (p *processFS) settle(name string) {
	dir := p.base.PathDir(name)
	if dir != p.ordered {
		return
	}
	if d, err := p.base.OpenDir(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// step counts a mutating operation, crashes at the chosen one, and
// reports whether the operation must still reach base.
func (p *processFS) step() bool {
	if p.dead.Load() {
		return false
	}
	if p.ops.Add(1) >= p.crashAt.Load() {
		p.crash()
		return false
	}
	return true
}

// crash crashes the process now, if it has not crashed yet.
func (p *processFS) crash() {
	p.once.Do(func() {
		p.onCrash()
		p.dead.Store(true)
	})
}

func (p *processFS) crashed() bool { return p.dead.Load() }

func (p *processFS) inGrave(name string) bool {
	_, err := p.grave.Stat(name)
	return err == nil
}

func (p *processFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	if !p.step() {
		if err := p.grave.MkdirAll(p.grave.PathDir(name), 0o700); err != nil {
			return nil, err
		}
		return p.grave.Create(name, c)
	}
	f, err := p.base.Create(name, c)
	p.settle(name)
	if p.afterCreate > 0 && p.base.PathDir(name) != p.ordered && p.created.Add(1) == p.afterCreate {
		p.crashAt.Store(p.ops.Load() + 1 + p.afterCreatePlus)
	}
	return p.wrap(name, f, err)
}

func (p *processFS) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	if p.crashed() && p.inGrave(name) {
		return p.grave.Open(name, opts...)
	}
	f, err := p.base.Open(name, opts...)
	return p.wrap(name, f, err)
}

func (p *processFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	if p.crashed() && p.inGrave(name) {
		return p.grave.OpenReadWrite(name, c, opts...)
	}
	if _, err := p.base.Stat(name); errors.Is(err, fs.ErrNotExist) {
		return p.Create(name, c) // OpenReadWrite creates a missing file
	}
	f, err := p.base.OpenReadWrite(name, c, opts...)
	return p.wrap(name, f, err)
}

func (p *processFS) OpenDir(name string) (vfs.File, error) {
	if p.crashed() && p.inGrave(name) {
		return p.grave.OpenDir(name)
	}
	f, err := p.base.OpenDir(name)
	return p.wrap(name, f, err)
}

func (p *processFS) Remove(name string) error {
	if !p.step() {
		if p.inGrave(name) {
			return p.grave.Remove(name)
		}
		return nil
	}
	err := p.base.Remove(name)
	p.settle(name)
	return err
}

func (p *processFS) RemoveAll(name string) error {
	if !p.step() {
		return p.grave.RemoveAll(name)
	}
	return p.base.RemoveAll(name)
}

func (p *processFS) Rename(oldname, newname string) error {
	if !p.step() {
		if p.inGrave(oldname) {
			return p.grave.Rename(oldname, newname)
		}
		return nil
	}
	err := p.base.Rename(oldname, newname)
	p.settle(oldname)
	p.settle(newname)
	return err
}

func (p *processFS) Link(oldname, newname string) error {
	if !p.step() {
		if p.inGrave(oldname) {
			return p.grave.Link(oldname, newname)
		}
		return nil
	}
	err := p.base.Link(oldname, newname)
	p.settle(newname)
	return err
}

func (p *processFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	if !p.step() {
		return p.Create(newname, c)
	}
	f, err := p.base.ReuseForWrite(oldname, newname, c)
	p.settle(oldname)
	p.settle(newname)
	return p.wrap(newname, f, err)
}

func (p *processFS) MkdirAll(dir string, perm fs.FileMode) error {
	if !p.step() {
		return p.grave.MkdirAll(dir, perm)
	}
	return p.base.MkdirAll(dir, perm)
}

func (p *processFS) Stat(name string) (vfs.FileInfo, error) {
	if p.crashed() && p.inGrave(name) {
		return p.grave.Stat(name)
	}
	return p.base.Stat(name)
}

// Lock reaches base even after the crash: the dead process's Pebble must
// release its lock when it closes, or the next process could not open.
func (p *processFS) Lock(name string) (io.Closer, error) { return p.base.Lock(name) }

func (p *processFS) Unwrap() vfs.FS { return nil }

func (p *processFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return &processFile{File: f, p: p, name: name}, nil
}

// processFile is a file of base opened by the process. Once the process
// is dead, its first write copies the file into the graveyard, and the
// handle works on that copy from then on: base no longer changes, and the
// dead process still reads back what it writes.
type processFile struct {
	vfs.File
	p    *processFS
	name string

	mu  sync.Mutex
	cow vfs.File // the graveyard copy, once the dead process wrote
}

// current returns the file that reads and writes go to.
func (f *processFile) current() vfs.File {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cow != nil {
		return f.cow
	}
	return f.File
}

// writable returns the file a write goes to: base while the process is
// alive, else the graveyard copy.
func (f *processFile) writable() (vfs.File, error) {
	if f.p.step() {
		return f.File, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cow != nil {
		return f.cow, nil
	}
	fi, err := f.File.Stat()
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, errors.New("processFS: write to a directory")
	}
	data := make([]byte, fi.Size())
	if _, err := f.File.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if err := f.p.grave.MkdirAll(f.p.grave.PathDir(f.name), 0o700); err != nil {
		return nil, err
	}
	cow, err := f.p.grave.Create(f.name, vfs.WriteCategoryUnspecified)
	if err != nil {
		return nil, err
	}
	if _, err := cow.Write(data); err != nil {
		return nil, err
	}
	f.cow = cow
	return cow, nil
}

func (f *processFile) Write(b []byte) (int, error) {
	w, err := f.writable()
	if err != nil {
		return 0, err
	}
	return w.Write(b)
}

func (f *processFile) WriteAt(b []byte, off int64) (int, error) {
	w, err := f.writable()
	if err != nil {
		return 0, err
	}
	return w.WriteAt(b, off)
}

func (f *processFile) Sync() error {
	if !f.p.step() {
		return nil
	}
	return f.File.Sync()
}

func (f *processFile) SyncData() error {
	if !f.p.step() {
		return nil
	}
	return f.File.SyncData()
}

func (f *processFile) SyncTo(length int64) (bool, error) {
	if !f.p.step() {
		return false, nil
	}
	return f.File.SyncTo(length)
}

func (f *processFile) Preallocate(off, length int64) error { return nil }

func (f *processFile) Read(b []byte) (int, error)              { return f.current().Read(b) }
func (f *processFile) ReadAt(b []byte, off int64) (int, error) { return f.current().ReadAt(b, off) }
func (f *processFile) Stat() (vfs.FileInfo, error)             { return f.current().Stat() }

func (f *processFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cow != nil {
		f.cow.Close()
	}
	return f.File.Close()
}
