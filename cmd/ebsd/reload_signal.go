package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// reloadOnHangup calls reload on every SIGHUP, the Unix convention for
// "re-read your configuration", until stop is called or ctx ends. It also
// keeps a SIGHUP from ending ebsd, its default action.
func reloadOnHangup(ctx context.Context, reload func() error) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_ = reload() // it logs what went wrong
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		cancel()
		<-done
	}
}
