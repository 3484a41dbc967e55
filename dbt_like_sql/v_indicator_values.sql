-- materialized: table
-- partitioned by: region
-- One value per region, indicator, kind, unit and year (single-year periods; counts, amounts and
-- rates; part-year figures and verbatim repeats left out). A figure without an indicator code forms
-- a series on its normalized subject (keyed_by = 'subject', series 'subject:<key>'). The chosen
-- statement is the one most others agree with (exact before approximate, then by file and position);
-- `agree` says whether every statement agrees with it (within 1%, or as its 余/近/约 allows);
-- conflicting statements are flagged (`agree` false, their values listed), never averaged.
with eligible as (
    select
        m.*,
        coalesce(m.indicator, 'subject:' || m.series_key) as series,
        case when m.indicator is null then 'subject' else 'indicator' end as keyed_by
    from metrics m
    where m.kind in ('count', 'amount', 'rate')
      and m.period_end is not null
      and m.period_start = m.period_end
      and coalesce(m.region, '') <> ''
      and not coalesce(m.part_year, false)
      and not coalesce(m.in_repeated, false)
      and (m.indicator is not null or coalesce(m.series_key, '') <> '')
),
-- how many statements agree with a value: counted over the distinct (value, approx) pairs of a
-- group, not over every pair of statements (a group repeated in many reports holds few values)
statements as (
    select region, series, kind, unit, period_end, value, approx, count(*) as n
    from eligible
    group by all
),
support as (
    select a.region, a.series, a.kind, a.unit, a.period_end, a.value, sum(b.n) as n_agreeing
    from (select distinct region, series, kind, unit, period_end, value from statements) a
    join statements b
      on a.region = b.region and a.series = b.series and a.kind = b.kind
     and a.unit is not distinct from b.unit and a.period_end = b.period_end
    where abs(a.value - b.value) <= 0.01 * greatest(abs(a.value), abs(b.value))
       or (b.approx = 'over' and a.value >= b.value and a.value <= 1.25 * b.value)
       or (b.approx = 'nearly' and a.value <= b.value and a.value >= 0.8 * b.value)
       or (b.approx = 'about' and abs(a.value - b.value) <= 0.1 * abs(b.value))
    group by all
),
ranked as (
    select
        e.*,
        s.n_agreeing,
        row_number() over w as rk,
        count(*) over p as n_statements,
        count(distinct e.doc_id) over p as n_documents,
        count(distinct e.value) over p as n_values,
        min(e.value) over p as min_value,
        max(e.value) over p as max_value
    from eligible e
    join support s
      on e.region = s.region and e.series = s.series and e.kind = s.kind
     and e.unit is not distinct from s.unit and e.period_end = s.period_end and e.value = s.value
    window p as (partition by e.region, e.series, e.kind, e.unit, e.period_end),
           w as (partition by e.region, e.series, e.kind, e.unit, e.period_end
                 order by s.n_agreeing desc, (e.approx = 'exact') desc, e.source_file, e.char_start)
)
select
    c.region,
    c.series,
    c.keyed_by,
    c.indicator,
    c.series_key,
    c.kind,
    c.unit,
    c.period_end as year,
    c.value,
    c.approx,
    c.n_statements,
    c.n_documents,
    c.n_values,
    c.n_agreeing = c.n_statements as agree,
    c.min_value,
    c.max_value,
    c.metric_id,
    c.doc_id,
    c.source_file,
    c.quote,
    c.sentence,
    c.subject
from ranked c
where c.rk = 1
