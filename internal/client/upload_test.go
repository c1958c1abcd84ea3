package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"
	"github.com/aws/smithy-go"

	"github.com/ebsd/ebsd/internal/client"
	"github.com/ebsd/ebsd/internal/ebstest"
)

const bs = client.BlockSize

// testRetry retries quickly, so that fault tests take milliseconds.
var testRetry = client.RetryPolicy{
	MaxAttempts: 6, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond,
	AttemptTimeout: 20 * time.Second, TotalTimeout: time.Minute,
}

// env is an in-process ebsd, an official SDK client of it and a state
// directory.
type env struct {
	srv   *ebstest.Server
	api   *ebs.Client
	hc    *http.Client
	state string
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	srv := ebstest.Start(tb, ebstest.Options{})
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	hc := &http.Client{Transport: tr, Timeout: time.Minute}
	tb.Cleanup(tr.CloseIdleConnections)
	return &env{srv: srv, api: ebstest.NewClient(srv.URL, ebstest.Alice, hc), hc: hc, state: tb.TempDir()}
}

// client returns a transfer client over api (e.api when nil).
func (e *env) client(api client.API, obs client.Observer) *client.Client {
	if api == nil {
		api = e.api
	}
	return client.New(api, client.Options{Workers: 8, Retry: testRetry, Observer: obs, StateDir: e.state})
}

// sparseImage returns size bytes of image made of blocks that are zero
// (about half), random, or random in their first half only.
func sparseImage(seed uint64, size int64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	img := make([]byte, size)
	for off := int64(0); off < size; off += bs {
		blk := img[off:min(off+bs, size)]
		switch x := r.IntN(10); {
		case x < 5:
		case x < 9:
			fillRandom(r, blk)
		default:
			fillRandom(r, blk[:len(blk)/2])
		}
	}
	return img
}

func fillRandom(r *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}

// block returns block i of image, padded with zeros.
func block(image []byte, i int) []byte {
	b := make([]byte, bs)
	if off := i * bs; off < len(image) {
		copy(b, image[off:])
	}
	return b
}

func blocksOf(image []byte) int { return (len(image) + bs - 1) / bs }

func isZeroBlock(b []byte) bool { return bytes.Equal(b, make([]byte, len(b))) }

// readBack reads every written block of snapshot id with the SDK,
// checking each block's checksum.
func readBack(tb testing.TB, api client.API, id string) (map[int32][]byte, int64) {
	tb.Helper()
	ctx := context.Background()
	got := map[int32][]byte{}
	var volume int64
	var next *string
	for {
		out, err := api.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: aws.String(id), MaxResults: aws.Int32(100), NextToken: next})
		if err != nil {
			tb.Fatalf("ListSnapshotBlocks %s: %v", id, err)
		}
		volume = aws.ToInt64(out.VolumeSize)
		for _, b := range out.Blocks {
			g, err := api.GetSnapshotBlock(ctx, &ebs.GetSnapshotBlockInput{SnapshotId: aws.String(id), BlockIndex: b.BlockIndex, BlockToken: b.BlockToken})
			if err != nil {
				tb.Fatalf("GetSnapshotBlock %d: %v", aws.ToInt32(b.BlockIndex), err)
			}
			data, err := io.ReadAll(g.BlockData)
			g.BlockData.Close()
			if err != nil {
				tb.Fatal(err)
			}
			if sum := ebstest.Checksum(data); sum != aws.ToString(g.Checksum) {
				tb.Fatalf("block %d: checksum %s, data hashes to %s", aws.ToInt32(b.BlockIndex), aws.ToString(g.Checksum), sum)
			}
			got[aws.ToInt32(b.BlockIndex)] = data
		}
		if aws.ToString(out.NextToken) == "" {
			return got, volume
		}
		next = out.NextToken
	}
}

// checkSnapshot checks that snapshot id reads back as image (padded with
// zeros to the volume) and returns the indexes it lists.
func checkSnapshot(tb testing.TB, api client.API, id string, image []byte) []int32 {
	tb.Helper()
	got, volume := readBack(tb, api, id)
	n := blocksOf(image)
	if int64(n) > volume*2048 {
		tb.Fatalf("image of %d blocks in a volume of %d GiB", n, volume)
	}
	var listed []int32
	for i, data := range got {
		listed = append(listed, i)
		if int(i) >= n && !isZeroBlock(data) {
			tb.Errorf("block %d past the image's end is not zero", i)
		}
	}
	for i := range n {
		want := block(image, i)
		data, ok := got[int32(i)]
		if !ok {
			data = make([]byte, bs)
		}
		if !bytes.Equal(data, want) {
			tb.Errorf("block %d (listed %v) differs from the image", i, ok)
		}
	}
	slices.Sort(listed)
	return listed
}

// nonZero returns the indexes of the image's non-zero blocks.
func nonZero(image []byte) []int32 {
	var s []int32
	for i := range blocksOf(image) {
		if !isZeroBlock(block(image, i)) {
			s = append(s, int32(i))
		}
	}
	return s
}

func allBlocks(image []byte) []int32 {
	s := make([]int32, blocksOf(image))
	for i := range s {
		s[i] = int32(i)
	}
	return s
}

// linearOf returns the LINEAR aggregate of image's blocks at indexes.
func linearOf(image []byte, indexes []int32) string {
	var blocks [][]byte
	for _, i := range indexes {
		blocks = append(blocks, block(image, int(i)))
	}
	return ebstest.Linear(blocks...)
}

func upload(tb testing.TB, c *client.Client, in client.UploadInput) *client.UploadResult {
	tb.Helper()
	res, err := c.Upload(context.Background(), in)
	if err != nil {
		tb.Fatalf("Upload: %v", err)
	}
	if res.Status != "completed" {
		tb.Fatalf("status %s, want completed", res.Status)
	}
	return res
}

func TestUploadRoundTrip(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name      string
		size      int64
		zero      client.ZeroPolicy
		encrypted bool
		listed    func([]byte) []int32 // the blocks the snapshot must list
	}{
		{"one block", bs, client.ZeroAuto, false, nonZero},
		{"unaligned", 17*bs + 12345, client.ZeroAuto, false, nonZero},
		{"tiny", 100, client.ZeroAuto, false, nonZero},
		{"empty", 0, client.ZeroAuto, false, nonZero},
		{"aligned skip", 64 * bs, client.ZeroSkip, false, nonZero},
		{"upload zeros", 33*bs + 1, client.ZeroUpload, false, allBlocks},
		{"encrypted uploads zeros", 21*bs + 999, client.ZeroAuto, true, allBlocks},
		{"encrypted skip", 21 * bs, client.ZeroSkip, true, nonZero},
	}
	for n, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			image := sparseImage(uint64(n), tt.size)
			obs := &countingObserver{}
			res := upload(t, e.client(nil, obs), client.UploadInput{
				Image: bytes.NewReader(image), Size: tt.size, ZeroBlocks: tt.zero, Encrypted: tt.encrypted, Wait: true,
			})
			listed := checkSnapshot(t, e.api, res.SnapshotID, image)
			want := tt.listed(image)
			if !slices.Equal(listed, want) {
				t.Errorf("listed blocks %v, want %v", listed, want)
			}
			if res.ChangedBlocks != int64(len(want)) || res.Written != int64(len(want)) {
				t.Errorf("changed %d, written %d, want %d", res.ChangedBlocks, res.Written, len(want))
			}
			if got := linearOf(image, want); res.Checksum != got {
				t.Errorf("checksum %s, want %s", res.Checksum, got)
			}
			if res.Blocks != int64(blocksOf(image)) || res.Written+res.Zero != res.Blocks {
				t.Errorf("blocks %d written %d zero %d, image has %d", res.Blocks, res.Written, res.Zero, blocksOf(image))
			}
			if res.VolumeSize != 1 || res.Encrypted != tt.encrypted {
				t.Errorf("volume %d encrypted %v", res.VolumeSize, res.Encrypted)
			}
			if obs.outcomes[client.Written] != res.Written || obs.bytes != res.BytesSent {
				t.Errorf("observer saw %v, %d bytes; result %+v", obs.outcomes, obs.bytes, res)
			}
			if _, err := os.Stat(client.UploadJournalPath(e.state, res.SnapshotID)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("journal left behind: %v", err)
			}
			m, err := client.LoadManifest(e.state, res.SnapshotID)
			if err != nil {
				t.Fatal(err)
			}
			if m.Len() != len(want) {
				t.Errorf("manifest has %d blocks, want %d", m.Len(), len(want))
			}
		})
	}
}

// zeroImage is an image of zeros of any size that costs no memory.
type zeroImage struct{}

func (zeroImage) ReadAt(p []byte, _ int64) (int, error) {
	clear(p)
	return len(p), nil
}

func TestUploadVolumeSize(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name       string
		size, vol  int64
		wantVolume int64
		wantErr    string
	}{
		{"just over a GiB", 1<<30 + 1, 0, 2, ""},
		{"exactly a GiB", 1 << 30, 0, 1, ""},
		{"explicit larger", bs, 3, 3, ""},
		{"too small", 1<<30 + 1, 1, 0, "image is 1073741825 bytes but the volume is 1 GiB; use --volume-size >= 2"},
		{"too large", bs, 65537, 0, "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &faultyAPI{API: e.api}
			res, err := e.client(api, nil).Upload(context.Background(), client.UploadInput{Image: zeroImage{}, Size: tt.size, VolumeSize: tt.vol})
			if tt.wantErr != "" {
				if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tt.wantErr)) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				if res != nil {
					t.Errorf("a result (%+v) though nothing was started", res)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.VolumeSize != tt.wantVolume || res.Written != 0 || res.Zero != blockCountOf(tt.size) {
				t.Errorf("result %+v", res)
			}
			if _, vol := readBack(t, e.api, res.SnapshotID); vol != tt.wantVolume {
				t.Errorf("snapshot volume %d, want %d", vol, tt.wantVolume)
			}
		})
	}
	var tl *client.TooLargeError
	_, err := e.client(nil, nil).Upload(context.Background(), client.UploadInput{Image: zeroImage{}, Size: 5 << 30, VolumeSize: 2})
	if !errors.As(err, &tl) || tl.Need != 5 {
		t.Errorf("err %v, want a TooLargeError asking for 5 GiB", err)
	}
}

func blockCountOf(size int64) int64 { return (size + bs - 1) / bs }

// modify returns a copy of parent with some blocks changed, one non-zero
// block zeroed, one zero block filled and, when grow, a longer tail; and
// the indexes that differ.
func modify(parent []byte, seed uint64, grow int64) ([]byte, []int32) {
	r := rand.New(rand.NewPCG(seed, 99))
	child := append(slices.Clone(parent), make([]byte, grow)...)
	nz := nonZero(parent)
	var changed []int32
	// change three non-zero blocks, and zero a fourth
	for k, i := range nz[:4] {
		b := child[int(i)*bs : min(int(i+1)*bs, len(child))]
		if k == 3 {
			clear(b)
		} else {
			fillRandom(r, b[:100])
		}
		changed = append(changed, i)
	}
	// fill a block that was zero in the parent
	for i := range blocksOf(parent) {
		if !slices.Contains(nz, int32(i)) {
			fillRandom(r, child[i*bs:i*bs+10])
			changed = append(changed, int32(i))
			break
		}
	}
	// a new block past the parent's image
	if grow > 0 {
		i := blocksOf(child) - 1
		child[i*bs] = 1
		changed = append(changed, int32(i))
	}
	slices.Sort(changed)
	return child, changed
}

func TestUploadIncremental(t *testing.T) {
	e := newEnv(t)
	parentImage := sparseImage(42, 40*bs)
	parent := upload(t, e.client(nil, nil), client.UploadInput{Image: bytes.NewReader(parentImage), Size: int64(len(parentImage)), Wait: true})
	child, changed := modify(parentImage, 1, 3*bs+777)

	for _, tt := range []struct {
		name     string
		manifest bool
	}{{"manifest", true}, {"listing", false}} {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.manifest {
				if err := os.Remove(client.ManifestPath(e.state, parent.SnapshotID)); err != nil {
					t.Fatal(err)
				}
			}
			api := &faultyAPI{API: e.api}
			res := upload(t, e.client(api, nil), client.UploadInput{Image: bytes.NewReader(child), Size: int64(len(child)), Parent: parent.SnapshotID, Wait: true})
			sent := api.written()
			slices.Sort(sent)
			if !slices.Equal(sent, changed) {
				t.Errorf("sent blocks %v, want exactly the changed ones %v", sent, changed)
			}
			wantSource, wantGets := "manifest", int64(0)
			if !tt.manifest {
				wantSource, wantGets = "listing", int64(len(nonZero(parentImage)))
			}
			if res.ParentSource != wantSource || api.getCalls.Load() != wantGets {
				t.Errorf("parent known from %q with %d GetSnapshotBlock calls, want %q and %d", res.ParentSource, api.getCalls.Load(), wantSource, wantGets)
			}
			if res.Written != int64(len(changed)) || res.ChangedBlocks != int64(len(changed)) || res.Checksum != linearOf(child, changed) {
				t.Errorf("result %+v, want %d changed", res, len(changed))
			}
			checkSnapshot(t, e.api, res.SnapshotID, child)
			if !tt.manifest {
				if _, err := client.LoadManifest(e.state, parent.SnapshotID); err != nil {
					t.Errorf("the parent's manifest was not kept after reading it: %v", err)
				}
			}
			// The child's manifest covers inherited blocks too: a grandchild
			// equal to the child sends nothing.
			api2 := &faultyAPI{API: e.api}
			res2 := upload(t, e.client(api2, nil), client.UploadInput{Image: bytes.NewReader(child), Size: int64(len(child)), Parent: res.SnapshotID, Wait: true})
			if n := api2.putCalls.Load(); n != 0 || res2.Unchanged != int64(len(nonZero(parentImage))+2) {
				t.Errorf("grandchild sent %d blocks, %d unchanged", n, res2.Unchanged)
			}
			checkSnapshot(t, e.api, res2.SnapshotID, child)
		})
	}

	t.Run("shorter child", func(t *testing.T) {
		// Parent blocks past the child's end must read back as zeros.
		short := slices.Clone(parentImage[:10*bs])
		api := &faultyAPI{API: e.api}
		res := upload(t, e.client(api, nil), client.UploadInput{Image: bytes.NewReader(short), Size: int64(len(short)), Parent: parent.SnapshotID, Wait: true})
		var want []int32
		for _, i := range nonZero(parentImage) {
			if i >= 10 {
				want = append(want, i)
			}
		}
		sent := api.written()
		slices.Sort(sent)
		if !slices.Equal(sent, want) {
			t.Errorf("sent %v, want the parent's blocks past the end %v", sent, want)
		}
		checkSnapshot(t, e.api, res.SnapshotID, append(short, make([]byte, 30*bs)...))
	})
}

func TestUploadResume(t *testing.T) {
	e := newEnv(t)
	image := sparseImage(7, 120*bs+4321)
	want := nonZero(image)
	size := int64(len(image))

	interrupted := func(t *testing.T, stop func(api *faultyAPI, cancel context.CancelFunc)) *client.UploadResult {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		api := &faultyAPI{API: e.api}
		stop(api, cancel)
		res, err := e.client(api, nil).Upload(ctx, client.UploadInput{Image: bytes.NewReader(image), Size: size})
		if err == nil {
			t.Fatal("the interrupted upload succeeded")
		}
		if res == nil || res.SnapshotID == "" {
			t.Fatalf("no snapshot ID after a failure: %v", err)
		}
		if res.Written >= int64(len(want)) {
			t.Fatalf("all %d blocks were written before the interruption", res.Written)
		}
		return res
	}
	resume := func(t *testing.T, first *client.UploadResult) {
		t.Helper()
		api := &faultyAPI{API: e.api}
		res := upload(t, e.client(api, nil), client.UploadInput{Image: bytes.NewReader(image), Size: size, Resume: first.SnapshotID, Wait: true})
		if res.SnapshotID != first.SnapshotID {
			t.Fatalf("resumed into %s, want %s", res.SnapshotID, first.SnapshotID)
		}
		if res.Resumed != first.Written {
			t.Errorf("resumed %d blocks; the first run wrote %d", res.Resumed, first.Written)
		}
		if n := api.putCalls.Load(); n != res.Written || res.Written+res.Resumed != int64(len(want)) {
			t.Errorf("second run made %d puts, wrote %d, resumed %d; %d blocks in all", n, res.Written, res.Resumed, len(want))
		}
		if res.ChangedBlocks != int64(len(want)) || res.Checksum != linearOf(image, want) {
			t.Errorf("completed with %d blocks, %s", res.ChangedBlocks, res.Checksum)
		}
		if listed := checkSnapshot(t, e.api, res.SnapshotID, image); !slices.Equal(listed, want) {
			t.Errorf("listed %v, want %v", listed, want)
		}
	}

	t.Run("cancelled", func(t *testing.T) {
		first := interrupted(t, func(api *faultyAPI, cancel context.CancelFunc) {
			api.AfterPut = func(ok int64) {
				if ok == 20 {
					cancel()
				}
			}
		})
		resume(t, first)
	})
	t.Run("permanent error", func(t *testing.T) {
		first := interrupted(t, func(api *faultyAPI, _ context.CancelFunc) {
			api.PutFault = func(n int64, _ *ebs.PutSnapshotBlockInput) error {
				if n > 30 {
					return errAccessDenied()
				}
				return nil
			}
		})
		resume(t, first)
	})
	t.Run("no journal", func(t *testing.T) {
		first := interrupted(t, func(api *faultyAPI, cancel context.CancelFunc) {
			api.AfterPut = func(ok int64) {
				if ok == 10 {
					cancel()
				}
			}
		})
		if err := os.Remove(client.UploadJournalPath(e.state, first.SnapshotID)); err != nil {
			t.Fatal(err)
		}
		api := &faultyAPI{API: e.api}
		res := upload(t, e.client(api, nil), client.UploadInput{Image: bytes.NewReader(image), Size: size, Resume: first.SnapshotID, Wait: true})
		// Without a journal every block is sent, zeros too: whether the
		// snapshot is encrypted is not known.
		if n := api.putCalls.Load(); n != int64(blocksOf(image)) || res.Resumed != 0 || res.ZeroBlocks != "upload" {
			t.Errorf("%d puts, %d resumed, zero policy %s; want %d puts", n, res.Resumed, res.ZeroBlocks, blocksOf(image))
		}
		checkSnapshot(t, e.api, res.SnapshotID, image)
	})
	t.Run("other image", func(t *testing.T) {
		first := interrupted(t, func(api *faultyAPI, cancel context.CancelFunc) {
			api.AfterPut = func(ok int64) {
				if ok == 5 {
					cancel()
				}
			}
		})
		_, err := e.client(nil, nil).Upload(context.Background(), client.UploadInput{Image: bytes.NewReader(image), Size: size - 1, Resume: first.SnapshotID})
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte("resume with the same image")) {
			t.Errorf("resume with another image: %v", err)
		}
	})
}

func TestUploadRetries(t *testing.T) {
	e := newEnv(t)
	image := sparseImage(3, 30*bs)
	size := int64(len(image))
	faults := map[int64]func() error{
		1: errThrottled, 2: errThrottled, 4: errInternal, 6: errFailedToRead,
		9: errConnReset, 11: errUnexpectedEOF, 12: errThrottled,
	}
	t.Run("injected errors", func(t *testing.T) {
		api := &faultyAPI{API: e.api, PutFault: func(n int64, _ *ebs.PutSnapshotBlockInput) error {
			if f := faults[n]; f != nil {
				return f()
			}
			return nil
		}}
		obs := &countingObserver{}
		res := upload(t, e.client(api, obs), client.UploadInput{Image: bytes.NewReader(image), Size: size, Wait: true})
		if got := obs.retryCount(); got != int64(len(faults)) {
			t.Errorf("observer saw %d retries, want %d: %v", got, len(faults), obs.retryErr)
		}
		if n := api.putCalls.Load(); n != res.Written+int64(len(faults)) {
			t.Errorf("%d put calls for %d blocks and %d faults", n, res.Written, len(faults))
		}
		checkSnapshot(t, e.api, res.SnapshotID, image)
	})
	t.Run("dropped connections", func(t *testing.T) {
		tr := &dropTransport{Base: e.hc.Transport, Method: http.MethodPut, Drop: func(n int64) dropMode {
			switch n {
			case 2, 5:
				return dropRequest
			case 3, 8:
				return dropResponse
			}
			return pass
		}}
		api := ebstest.NewClient(e.srv.URL, ebstest.Alice, &http.Client{Transport: tr})
		obs := &countingObserver{}
		res := upload(t, e.client(api, obs), client.UploadInput{Image: bytes.NewReader(image), Size: size, Wait: true})
		if got := obs.retryCount(); got != 4 || tr.drops.Load() != 4 {
			t.Errorf("%d retries for %d drops: %v", got, tr.drops.Load(), obs.retryErr)
		}
		checkSnapshot(t, e.api, res.SnapshotID, image)
	})
	t.Run("hung attempt", func(t *testing.T) {
		// A request that is served but never answered costs one attempt
		// (coldsnap #437), not the upload.
		tr := &dropTransport{Base: e.hc.Transport, Method: http.MethodPut, Drop: func(n int64) dropMode {
			if n == 2 {
				return stallResponse
			}
			return pass
		}}
		api := ebstest.NewClient(e.srv.URL, ebstest.Alice, &http.Client{Transport: tr})
		obs := &countingObserver{}
		p := testRetry
		p.AttemptTimeout = 300 * time.Millisecond
		c := client.New(api, client.Options{Workers: 4, Retry: p, Observer: obs, StateDir: e.state})
		res := upload(t, c, client.UploadInput{Image: bytes.NewReader(image), Size: size, Wait: true})
		if got := obs.retryCount(); got != 1 {
			t.Errorf("%d retries, want 1: %v", got, obs.retryErr)
		}
		checkSnapshot(t, e.api, res.SnapshotID, image)
	})
	t.Run("access denied is not retried", func(t *testing.T) {
		var denied int32 = -1
		api := &faultyAPI{API: e.api, PutFault: func(n int64, in *ebs.PutSnapshotBlockInput) error {
			if n == 3 {
				denied = aws.ToInt32(in.BlockIndex)
				return errAccessDenied()
			}
			return nil
		}}
		obs := &countingObserver{}
		res, err := e.client(api, obs).Upload(context.Background(), client.UploadInput{Image: bytes.NewReader(image), Size: size})
		var ad *types.AccessDeniedException
		if !errors.As(err, &ad) {
			t.Fatalf("err %v, want AccessDenied", err)
		}
		if res == nil || res.SnapshotID == "" || res.Status != "" {
			t.Fatalf("result %+v", res)
		}
		if obs.retryCount() != 0 || api.attempts(denied) != 1 {
			t.Errorf("%d retries, block %d tried %d times", obs.retryCount(), denied, api.attempts(denied))
		}
		if _, err := os.Stat(client.UploadJournalPath(e.state, res.SnapshotID)); err != nil {
			t.Errorf("no journal to resume from: %v", err)
		}
	})
	t.Run("retries are bounded", func(t *testing.T) {
		api := &faultyAPI{API: e.api, PutFault: func(int64, *ebs.PutSnapshotBlockInput) error { return errThrottled() }}
		obs := &countingObserver{}
		_, err := e.client(api, obs).Upload(context.Background(), client.UploadInput{Image: bytes.NewReader(image), Size: size})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "RequestThrottledException" {
			t.Fatalf("err %v", err)
		}
		if !bytes.Contains([]byte(err.Error()), []byte("gave up after 6 attempts")) {
			t.Errorf("err %v does not say how many attempts", err)
		}
	})
}

func TestUploadEncryptedRoundTrip(t *testing.T) {
	e := newEnv(t)
	image := sparseImage(11, 25*bs+1)
	res := upload(t, e.client(nil, nil), client.UploadInput{Image: bytes.NewReader(image), Size: int64(len(image)), Encrypted: true, Wait: true, Description: "enc", Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	if !res.Encrypted || res.ZeroBlocks != "upload" {
		t.Errorf("result %+v", res)
	}
	if listed := checkSnapshot(t, e.api, res.SnapshotID, image); !slices.Equal(listed, allBlocks(image)) {
		t.Errorf("listed %v, want every block", listed)
	}
	// An incremental child of an encrypted parent is encrypted: zero
	// blocks that differ are sent, and so are new zero blocks.
	child, _ := modify(image, 5, bs)
	res2 := upload(t, e.client(nil, nil), client.UploadInput{Image: bytes.NewReader(child), Size: int64(len(child)), Parent: res.SnapshotID, Wait: true})
	if !res2.Encrypted {
		t.Errorf("child of an encrypted parent not seen as encrypted")
	}
	checkSnapshot(t, e.api, res2.SnapshotID, child)
}

func TestParseZeroPolicy(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want client.ZeroPolicy
		err  bool
	}{{"", client.ZeroAuto, false}, {"auto", client.ZeroAuto, false}, {"skip", client.ZeroSkip, false}, {"upload", client.ZeroUpload, false}, {"yes", 0, true}} {
		got, err := client.ParseZeroPolicy(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseZeroPolicy(%q) = %v, %v", tt.in, got, err)
		}
		if !tt.err && tt.in != "" && got.String() != tt.in {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
}

func TestUploadSparseFile(t *testing.T) {
	e := newEnv(t)
	// A real sparse file: holes, data not aligned to blocks, a partial
	// last block. Holes are known zero without reading (SEEK_HOLE).
	const size = 50*bs + 4097
	image := make([]byte, size)
	r := rand.New(rand.NewPCG(1, 2))
	for _, span := range [][2]int{{3*bs + 100, 50}, {10*bs - 7, 20}, {20 * bs, bs}, {size - 30, 30}} {
		fillRandom(r, image[span[0]:span[0]+span[1]])
	}
	path := filepath.Join(t.TempDir(), "sparse.img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	for _, i := range nonZero(image) {
		b := image[int(i)*bs : min(int(i+1)*bs, size)]
		if _, err := f.WriteAt(b, int64(i)*bs); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	for _, zero := range []client.ZeroPolicy{client.ZeroSkip, client.ZeroUpload} {
		t.Run(zero.String(), func(t *testing.T) {
			img, n, err := client.OpenImage(path)
			if err != nil || n != size {
				t.Fatalf("OpenImage: %d, %v", n, err)
			}
			defer img.Close()
			res := upload(t, e.client(nil, nil), client.UploadInput{Image: img, Size: n, ZeroBlocks: zero, Wait: true})
			want := nonZero(image)
			if zero == client.ZeroUpload {
				want = allBlocks(image)
			}
			if listed := checkSnapshot(t, e.api, res.SnapshotID, image); !slices.Equal(listed, want) {
				t.Errorf("listed %v, want %v", listed, want)
			}
			if res.Checksum != linearOf(image, want) {
				t.Error("wrong aggregate")
			}
		})
	}
	if _, _, err := client.OpenImage(filepath.Join(t.TempDir(), "missing.img")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing image: %v", err)
	}
}
