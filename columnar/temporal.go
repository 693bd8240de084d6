package columnar

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5/pgtype"
)

// PostgreSQL counts dates and timestamps from 2000-01-01; Arrow and
// Parquet from 1970-01-01.
const (
	pgEpochDays   = 10957
	pgEpochMicros = pgEpochDays * 86400 * 1_000_000
)

// textScan returns a parser of oid's text form into T through pgx's codec.
// It scans into one T reused for every value (a writer is not used
// concurrently): a T declared per call escapes through the plan's any
// argument and cost an allocation per row.
func textScan[T any](m *pgtype.Map, oid uint32) func(v []byte) (T, error) {
	var t T
	plan := m.PlanScan(oid, text, &t)
	return func(v []byte) (T, error) {
		err := plan.Scan(v, &t)
		return t, err
	}
}

func (p *planner) dateMapping(format int16) mapping {
	return mapping{typ: arrow.FixedWidthTypes.Date32, bind: func(b array.Builder) appender {
		db := b.(*array.Date32Builder)
		scan := textScan[pgtype.Date](p.m, pgtype.DateOID)
		return func(v []byte) error {
			if v == nil {
				db.AppendNull()
				return nil
			}
			if format == binary {
				if len(v) != 4 {
					return badValue("date of %d bytes", len(v))
				}
				d := int32(be.Uint32(v))
				if d == math.MaxInt32 || d == math.MinInt32 {
					return ErrInfinity
				}
				db.Append(arrow.Date32(d + pgEpochDays))
				return nil
			}
			d, err := scan(v)
			if err != nil {
				return badValue("date %q: %v", v, err)
			}
			if d.InfinityModifier != pgtype.Finite {
				return ErrInfinity
			}
			db.Append(arrow.Date32(floorDiv(d.Time.Unix(), 86400)))
			return nil
		}
	}}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func (p *planner) timeMapping(format int16) mapping {
	return mapping{typ: arrow.FixedWidthTypes.Time64us, bind: func(b array.Builder) appender {
		tb := b.(*array.Time64Builder)
		scan := textScan[pgtype.Time](p.m, pgtype.TimeOID)
		return func(v []byte) error {
			if v == nil {
				tb.AppendNull()
				return nil
			}
			if format == binary {
				if len(v) != 8 {
					return badValue("time of %d bytes", len(v))
				}
				tb.Append(arrow.Time64(be.Uint64(v)))
				return nil
			}
			t, err := scan(v)
			if err != nil {
				return badValue("time %q: %v", v, err)
			}
			tb.Append(arrow.Time64(t.Microseconds))
			return nil
		}
	}}
}

// timestampMapping: timestamp as a zone-less timestamp (Parquet
// isAdjustedToUTC=false), timestamptz as UTC (isAdjustedToUTC=true), both
// in microseconds since 1970.
func (p *planner) timestampMapping(oid uint32, zone string, format int16) mapping {
	typ := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: zone}
	return mapping{typ: typ, bind: func(b array.Builder) appender {
		tb := b.(*array.TimestampBuilder)
		// The text forms differ (timestamptz has a zone), the scanned
		// structs do not: Timestamptz converts to Timestamp.
		var scan func(v []byte) (pgtype.Timestamp, error)
		if oid == pgtype.TimestampOID {
			scan = textScan[pgtype.Timestamp](p.m, oid)
		} else {
			s := textScan[pgtype.Timestamptz](p.m, oid)
			scan = func(v []byte) (pgtype.Timestamp, error) {
				t, err := s(v)
				return pgtype.Timestamp(t), err
			}
		}
		return func(v []byte) error {
			if v == nil {
				tb.AppendNull()
				return nil
			}
			if format == binary {
				if len(v) != 8 {
					return badValue("timestamp of %d bytes", len(v))
				}
				us := int64(be.Uint64(v))
				switch {
				case us == math.MaxInt64 || us == math.MinInt64:
					return ErrInfinity
				case us > math.MaxInt64-pgEpochMicros:
					return ErrOutOfRange
				}
				tb.Append(arrow.Timestamp(us + pgEpochMicros))
				return nil
			}
			ts, err := scan(v)
			if err != nil {
				return badValue("timestamp %q: %v", v, err)
			}
			if ts.InfinityModifier != pgtype.Finite {
				return ErrInfinity
			}
			t := ts.Time
			sec := t.Unix()
			if sec > math.MaxInt64/1_000_000-1 || sec < math.MinInt64/1_000_000+1 {
				return ErrOutOfRange
			}
			tb.Append(arrow.Timestamp(sec*1_000_000 + int64(t.Nanosecond()/1000)))
			return nil
		}
	}}
}

// intervalType keeps an interval's three parts apart, as PostgreSQL does
// (a month is not a fixed number of days, nor a day of microseconds).
// Parquet's INTERVAL has millisecond precision and Arrow's month-day-nano
// has no Parquet mapping, so both outputs use this STRUCT.
var intervalType = arrow.StructOf(
	arrow.Field{Name: "months", Type: arrow.PrimitiveTypes.Int32},
	arrow.Field{Name: "days", Type: arrow.PrimitiveTypes.Int32},
	arrow.Field{Name: "microseconds", Type: arrow.PrimitiveTypes.Int64},
)

func (p *planner) intervalMapping(format int16) mapping {
	return mapping{typ: intervalType, bind: func(b array.Builder) appender {
		sb := b.(*array.StructBuilder)
		months := sb.FieldBuilder(0).(*array.Int32Builder)
		days := sb.FieldBuilder(1).(*array.Int32Builder)
		micros := sb.FieldBuilder(2).(*array.Int64Builder)
		scan := textScan[pgtype.Interval](p.m, pgtype.IntervalOID)
		return func(v []byte) error {
			if v == nil {
				sb.AppendNull()
				return nil
			}
			var iv pgtype.Interval
			if format == binary {
				if len(v) != 16 {
					return badValue("interval of %d bytes", len(v))
				}
				iv = pgtype.Interval{Microseconds: int64(be.Uint64(v)), Days: int32(be.Uint32(v[8:])), Months: int32(be.Uint32(v[12:]))}
			} else {
				var err error
				if iv, err = scan(v); err != nil {
					return badValue("interval %q: %v", v, err)
				}
			}
			sb.Append(true)
			months.Append(iv.Months)
			days.Append(iv.Days)
			micros.Append(iv.Microseconds)
			return nil
		}
	}}
}
