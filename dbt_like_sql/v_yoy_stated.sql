-- materialized: table
-- partitioned by: region
-- Year-over-year changes the articles state (同比, 较上年), signed, one row per region, series,
-- year and unit of the change (% , 个百分点, or the level's own unit): the statement most others
-- agree with, how many there are and whether they agree (within 0.1 or 1%).
with stated as (
    select
        m.*,
        coalesce(m.indicator, 'subject:' || m.series_key) as series,
        case when m.indicator is null then 'subject' else 'indicator' end as keyed_by
    from metrics m
    where m.kind = 'change' and m.basis = 'yoy'
      and m.period_end is not null
      and (m.period_start is null or m.period_start = m.period_end)
      and coalesce(m.region, '') <> ''
      and not coalesce(m.part_year, false)
      and not coalesce(m.in_repeated, false)
),
support as (
    select a.metric_id, count(*) as n_agreeing
    from stated a
    join stated b
      on a.region = b.region and a.series = b.series and a.unit is not distinct from b.unit
     and a.period_end = b.period_end
    where abs(a.value - b.value) <= greatest(0.1, 0.01 * greatest(abs(a.value), abs(b.value)))
    group by a.metric_id
),
ranked as (
    select s.*, p.n_agreeing,
           row_number() over (partition by s.region, s.series, s.unit, s.period_end
                              order by p.n_agreeing desc, s.source_file, s.char_start) as rk,
           count(*) over (partition by s.region, s.series, s.unit, s.period_end) as n_statements
    from stated s join support p using (metric_id)
)
select
    region,
    series,
    keyed_by,
    indicator,
    series_key,
    period_end as year,
    value as stated_change,
    unit as change_unit,
    approx,
    n_statements,
    n_agreeing = n_statements as agree,
    metric_id,
    doc_id,
    source_file,
    quote,
    sentence,
    subject
from ranked
where rk = 1
