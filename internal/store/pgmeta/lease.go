package pgmeta

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ebsd/ebsd/internal/store"
)

var _ store.Leaser = (*Store)(nil)

// Leases are session advisory locks held on one connection of their own,
// outside the pool, opened when the first lease is taken and closed when
// the last is released. PostgreSQL releases a session's locks when the
// session ends, so a node that dies gives its leases up without any
// clock: at once when its process exits (the kernel closes the socket),
// or when the server's TCP keepalive finds the peer gone (the session
// sets it to about 25 seconds, leaseKeepalive) when the machine or the
// network dies. The node checks the connection every leasePing and
// declares its leases lost when the check fails.
const (
	leasePing        = 5 * time.Second
	leasePingTimeout = 5 * time.Second
	leaseKeepalive   = `SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3`
)

// leaseLockSpace keeps lease keys apart from the snapshot queue locks and
// the fence ("pgml" in ASCII, in the high 32 bits). Two names may share a
// key (a 32-bit hash): they then exclude each other, which costs time,
// never correctness, since leases carry no safety (store.Leaser).
const leaseLockSpace = int64(0x70676d6c) << 32

func leaseKey(name string) int64 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return leaseLockSpace | int64(h.Sum32())
}

// leaseConn is the connection that holds this store's leases.
type leaseConn struct {
	mu    sync.Mutex
	conn  *pgx.Conn        // nil when no lease is held
	lost  chan struct{}    // closed when conn fails; one per connection
	held  map[string]int64 // lease name → key, on conn
	every time.Duration    // how often check pings conn
}

// TryLease implements store.Leaser.
func (s *Store) TryLease(ctx context.Context, name string) (store.Lease, error) {
	if err := s.enter("TryLease"); err != nil {
		return nil, err
	}
	lc := &s.leases
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if _, ok := lc.held[name]; ok {
		return nil, fmt.Errorf("pgmeta: lease %q: %w (in this process)", name, store.ErrLeaseHeld)
	}
	if lc.conn == nil {
		if err := s.openLeaseConn(ctx); err != nil {
			return nil, wrapOp("TryLease", err)
		}
	}
	key := leaseKey(name)
	var ok bool
	if err := lc.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		lc.fail()
		return nil, wrapOp("TryLease", err)
	}
	if !ok {
		lc.closeIfIdle()
		return nil, fmt.Errorf("pgmeta: lease %q: %w", name, store.ErrLeaseHeld)
	}
	lc.held[name] = key
	return &lease{lc: lc, name: name, conn: lc.conn, lost: lc.lost}, nil
}

// openLeaseConn connects the lease connection and starts its check.
// Called with lc.mu held.
func (s *Store) openLeaseConn(ctx context.Context) error {
	lc := &s.leases
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, leaseKeepalive); err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return err
	}
	lc.conn, lc.lost, lc.held = conn, make(chan struct{}), make(map[string]int64)
	go lc.check(conn)
	return nil
}

// check pings conn every lc.every until it is no longer the lease
// connection; a failed ping loses every lease on it.
func (lc *leaseConn) check(conn *pgx.Conn) {
	t := time.NewTicker(lc.every)
	defer t.Stop()
	for range t.C {
		lc.mu.Lock()
		if lc.conn != conn {
			lc.mu.Unlock()
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), leasePingTimeout)
		err := conn.Ping(ctx)
		cancel()
		if err != nil {
			lc.fail()
		}
		lc.mu.Unlock()
	}
}

// fail drops the lease connection: its leases are lost. Called with lc.mu
// held.
func (lc *leaseConn) fail() {
	if lc.conn == nil {
		return
	}
	close(lc.lost)
	ctx, cancel := context.WithTimeout(context.Background(), leasePingTimeout)
	_ = lc.conn.Close(ctx) // ends the session: the server releases its locks
	cancel()
	lc.conn, lc.held = nil, nil
}

// closeIfIdle closes the lease connection when it holds no lease. Called
// with lc.mu held.
func (lc *leaseConn) closeIfIdle() {
	if lc.conn == nil || len(lc.held) > 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), leasePingTimeout)
	_ = lc.conn.Close(ctx)
	cancel()
	lc.conn, lc.held = nil, nil
}

// closeLeases ends the lease connection, for Close.
func (s *Store) closeLeases() {
	lc := &s.leases
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.fail()
}

// lease is a store.Lease on a leaseConn.
type lease struct {
	lc   *leaseConn
	name string
	conn *pgx.Conn // the connection it was taken on
	lost chan struct{}
	once sync.Once
}

func (l *lease) Lost() <-chan struct{} { return l.lost }

// Release implements store.Lease: it unlocks the lease on its connection,
// if that is still the lease connection (else the lock went with the
// session), and closes the connection when it was the last lease.
func (l *lease) Release() {
	l.once.Do(func() {
		lc := l.lc
		lc.mu.Lock()
		defer lc.mu.Unlock()
		if lc.conn != l.conn {
			return
		}
		key := lc.held[l.name]
		delete(lc.held, l.name)
		ctx, cancel := context.WithTimeout(context.Background(), leasePingTimeout)
		defer cancel()
		if _, err := lc.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, key); err != nil {
			lc.fail() // ending the session releases it
			return
		}
		lc.closeIfIdle()
	})
}
