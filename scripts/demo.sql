-- The demo table for `make demo`: 1M rows of mixed types.
create table demo as
select g as id,
       'customer ' || g as name,
       case when g % 10 = 0 then null else md5(g::text) end as note,
       (g * 1.37)::numeric(12, 2) as amount,
       timestamptz '2026-01-01' + g * interval '1 minute' as created_at,
       g % 3 = 0 as active,
       array['a' || g % 7, 'b' || g % 11] as tags,
       jsonb_build_object('g', g, 'even', g % 2 = 0) as attrs
from generate_series(1, 1000000) g;
