// Command collibs compares the Parquet and Arrow libraries that package
// columnar could be built on, writing the same 2M synthetic rows shaped like
// bench's wide table (int8, text with 10% NULL, decimal(12,2), timestamptz,
// bool, a list of text, JSON, uuid) to a file in $TMPDIR:
//
//	cd bench/collibs && go build -o /tmp/collibs .
//	for m in gen pqarrow ipc pqgo; do /usr/bin/time -f "$m %e s %M KB user %U" /tmp/collibs $m; done
//
// gen only generates the rows (the cost every mode includes); pqarrow is
// arrow-go's Parquet writer fed Arrow record batches, ipc arrow-go's IPC
// stream writer (zstd), pqgo parquet-go's GenericWriter of structs (zstd).
// BATCH (rows per Arrow batch, default 8192) and RG (rows per row group,
// default 131072) tune them; NOZ=1 writes pqarrow uncompressed. Results in
// bench/README.md ("Columnar output").
package main

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/extensions"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pq "github.com/parquet-go/parquet-go"
	pqzstd "github.com/parquet-go/parquet-go/compress/zstd"
)

const N = 2_000_000

var batch, rg = envInt("BATCH", 8192), envInt("RG", 131072)

type row struct {
	ID        int64     `parquet:"id"`
	Name      *string   `parquet:"name,optional"`
	Amount    int64     `parquet:"amount,decimal(2:12)"`
	CreatedAt time.Time `parquet:"created_at,timestamp(microsecond)"`
	Active    bool      `parquet:"active"`
	Tags      []string  `parquet:"tags,list"`
	Attrs     string    `parquet:"attrs,json"`
	Ref       [16]byte  `parquet:"ref,uuid"`
}

var colors = []string{"red", "green", "blue", "cyan", "magenta"}

func gen(g int, r *row) {
	h := md5.Sum([]byte(strconv.Itoa(g)))
	hx := hex.EncodeToString(h[:])
	r.ID = int64(g)
	if g%10 == 0 {
		r.Name = nil
	} else {
		s := "name-" + hx
		r.Name = &s
	}
	r.Amount = int64(g) * 7919 % 100000000
	r.CreatedAt = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(g) * 37 * time.Second)
	r.Active = g%3 != 0
	r.Tags = colors[:g%5+1]
	r.Attrs = fmt.Sprintf(`{"n": %d, "even": %t, "hash": "%s", "score": %d.%d}`, g, g%2 == 0, hx[:8], g%1000/10, g%10)
	r.Ref = h
}

func arrowSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "amount", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}},
		{Name: "created_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: "active", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String)},
		{Name: "attrs", Type: jsonType()},
		{Name: "ref", Type: extensions.NewUUIDType()},
	}, nil)
}

func runArrow(path string, parquetOut bool) {
	f, _ := os.Create(path)
	defer f.Close()
	sc := arrowSchema()
	mem := memory.NewGoAllocator()
	b := array.NewRecordBuilder(mem, sc)
	var pw *pqarrow.FileWriter
	var iw *ipc.Writer
	if parquetOut {
		props := parquet.NewWriterProperties(parquet.WithCompression(codec()), parquet.WithMaxRowGroupLength(int64(rg)), parquet.WithDictionaryDefault(false))
		var err error
		pw, err = pqarrow.NewFileWriter(sc, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
		if err != nil {
			panic(err)
		}
	} else {
		iw = ipc.NewWriter(f, ipc.WithSchema(sc), ipc.WithZstd())
	}
	var r row
	flush := func() {
		rec := b.NewRecordBatch()
		if pw != nil {
			if err := pw.WriteBuffered(rec); err != nil {
				panic(err)
			}
		} else if err := iw.Write(rec); err != nil {
			panic(err)
		}
		rec.Release()
	}
	ids := b.Field(0).(*array.Int64Builder)
	names := b.Field(1).(*array.StringBuilder)
	amts := b.Field(2).(*array.Decimal128Builder)
	ts := b.Field(3).(*array.TimestampBuilder)
	act := b.Field(4).(*array.BooleanBuilder)
	tags := b.Field(5).(*array.ListBuilder)
	tagv := tags.ValueBuilder().(*array.StringBuilder)
	attrsS := b.Field(6).(*array.ExtensionBuilder).StorageBuilder().(*array.StringBuilder)
	refs := b.Field(7).(*extensions.UUIDBuilder)
	_ = refs
	for g := 1; g <= N; g++ {
		gen(g, &r)
		ids.Append(r.ID)
		if r.Name == nil {
			names.AppendNull()
		} else {
			names.Append(*r.Name)
		}
		amts.Append(decimal128.FromI64(r.Amount))
		ts.Append(arrow.Timestamp(r.CreatedAt.UnixMicro()))
		act.Append(r.Active)
		tags.Append(true)
		for _, t := range r.Tags {
			tagv.Append(t)
		}
		attrsS.Append(r.Attrs)
		refs.AppendBytes(r.Ref)
		if g%batch == 0 {
			flush()
		}
	}
	flush()
	if pw != nil {
		if err := pw.Close(); err != nil {
			panic(err)
		}
	} else {
		iw.Close()
	}
}

func runPQ(path string) {
	f, _ := os.Create(path)
	defer f.Close()
	w := pq.NewGenericWriter[row](f, pq.Compression(&pqzstd.Codec{Level: pqzstd.SpeedDefault}), pq.MaxRowsPerRowGroup(int64(rg)))
	buf := make([]row, 1024)
	n := 0
	for g := 1; g <= N; g++ {
		gen(g, &buf[n])
		n++
		if n == len(buf) {
			if _, err := w.Write(buf); err != nil {
				panic(err)
			}
			n = 0
		}
	}
	if _, err := w.Write(buf[:n]); err != nil {
		panic(err)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
}

func runGen() {
	var r row
	var s int
	for g := 1; g <= N; g++ {
		gen(g, &r)
		s += len(r.Attrs)
	}
	fmt.Println(s)
}

func main() {
	t := time.Now()
	switch os.Args[1] {
	case "gen":
		runGen()
	case "pqarrow":
		runArrow(filepath.Join(os.TempDir(), "collibs.pqarrow.parquet"), true)
	case "ipc":
		runArrow(filepath.Join(os.TempDir(), "collibs.arrows"), false)
	case "pqgo":
		runPQ(filepath.Join(os.TempDir(), "collibs.parquet-go.parquet"))
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(os.Stderr, "%s: %v sys=%dMB\n", os.Args[1], time.Since(t), ms.Sys>>20)
}

func jsonType() arrow.DataType {
	t, err := extensions.NewJSONType(arrow.BinaryTypes.String)
	if err != nil {
		panic(err)
	}
	return t
}

func envInt(k string, d int) int {
	if v := os.Getenv(k); v != "" {
		n, _ := strconv.Atoi(v)
		return n
	}
	return d
}

func codec() compress.Compression {
	if os.Getenv("NOZ") != "" {
		return compress.Codecs.Uncompressed
	}
	return compress.Codecs.Zstd
}
