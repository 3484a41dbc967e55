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
-- A statement agrees with values within a band around it: 1% either side, up to a quarter above a
-- 余 (over), a fifth below a 近 (nearly), a tenth either side of an 约 (about). Values are put in
-- buckets of log|value| (5% wide, by sign), and each statement in the buckets its band reaches,
-- widened a hair; a value then meets only the statements of its bucket, not every statement of
-- its group, and the exact test below decides.
reach as (
    select s.*,
           sign(value) as sgn,
           case approx when 'nearly' then 0.8 when 'about' then 0.9 else 0.99 end / 1.000001 as down,
           case approx when 'over' then 1.25 when 'about' then 1.1 else 1 / 0.99 end * 1.000001 as up
    from statements s
),
reached as (
    select region, series, kind, unit, period_end, value, approx, n, sgn,
           unnest(case when value = 0 then [0::bigint]
                       else range(floor(ln(abs(value) * down) / 0.05)::bigint,
                                  floor(ln(abs(value) * up) / 0.05)::bigint + 1) end) as bucket
    from reach
),
candidates as (
    select distinct region, series, kind, unit, period_end, value, sign(value) as sgn,
           case when value = 0 then 0::bigint else floor(ln(abs(value)) / 0.05)::bigint end as bucket
    from statements
),
support as (
    select a.region, a.series, a.kind, a.unit, a.period_end, a.value, sum(b.n) as n_agreeing
    from candidates a
    join reached b
      on a.region = b.region and a.series = b.series and a.kind = b.kind
     and a.unit is not distinct from b.unit and a.period_end = b.period_end
     and a.sgn = b.sgn and a.bucket = b.bucket
    where abs(a.value - b.value) <= 0.01 * greatest(abs(a.value), abs(b.value))
       or (b.approx = 'over' and a.value >= b.value and a.value <= 1.25 * b.value)
       or (b.approx = 'nearly' and a.value <= b.value and a.value >= 0.8 * b.value)
       or (b.approx = 'about' and abs(a.value - b.value) <= 0.1 * abs(b.value))
    group by all
),
-- per group: the chosen statement (most agreement, exact before approximate, then by file and
-- position) and what its statements say in all
groups as (
    select e.region, e.series, e.kind, e.unit, e.period_end,
           arg_min(e.metric_id, {'agreeing': -s.n_agreeing, 'approximate': e.approx <> 'exact',
                                 'file': e.source_file, 'at': e.char_start}) as metric_id,
           max(s.n_agreeing) as n_agreeing,
           count(*) as n_statements,
           count(distinct e.doc_id) as n_documents,
           count(distinct e.value) as n_values,
           min(e.value) as min_value,
           max(e.value) as max_value
    from eligible e
    join support s
      on e.region = s.region and e.series = s.series and e.kind = s.kind
     and e.unit is not distinct from s.unit and e.period_end = s.period_end and e.value = s.value
    group by all
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
    g.n_statements,
    g.n_documents,
    g.n_values,
    g.n_agreeing = g.n_statements as agree,
    g.min_value,
    g.max_value,
    c.metric_id,
    c.doc_id,
    c.source_file,
    c.quote,
    c.sentence,
    c.subject
from groups g
join eligible c on c.metric_id = g.metric_id
