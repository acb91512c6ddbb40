package corrected

import (
	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/profile"
)

// prefetcher reads the datasets a run uses one ahead of it, on the other
// core: while the run cleans and integrates one dataset, the next is read.
// It never reads further ahead (the memory held is at most one dataset
// more than without it) and stops where the reader's budget could not hold
// the next one, which the run then loads itself as before.
type prefetcher struct {
	started chan struct{} // one per dataset the run starts to use
	quit    chan struct{}
	done    chan struct{}
}

// prefetch starts reading order, the datasets in the order the run uses
// them (fileRun.loadOrder).
func prefetch(r *hdf5.Reader, order []*profile.Dataset) *prefetcher {
	pf := &prefetcher{started: make(chan struct{}, len(order)), quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(pf.done)
		for i, ds := range order {
			if i > 0 { // dataset i once the run uses dataset i-1
				select {
				case <-pf.started:
				case <-pf.quit:
					return
				}
			}
			if !r.Prefetch(ds) {
				return
			}
		}
	}()
	return pf
}

// next tells the prefetcher that the run starts to use its next dataset.
func (pf *prefetcher) next() {
	if pf == nil {
		return
	}
	select {
	case pf.started <- struct{}{}:
	default: // more uses than listed datasets: nothing left to read
	}
}

// stop ends the prefetching and waits for a read under way.
func (pf *prefetcher) stop() {
	close(pf.quit)
	<-pf.done
}
