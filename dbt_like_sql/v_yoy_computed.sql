-- Year-over-year change computed from two consecutive years of one series in one region, same
-- kind and unit: both values, the change and the % change, with the quote of each year. Only
-- years whose statements agree: a change is never computed from conflicting statements.
select
    y.region,
    y.series,
    y.keyed_by,
    y.indicator,
    y.series_key,
    y.kind,
    y.unit,
    y.year,
    y.value,
    p.year as previous_year,
    p.value as previous_value,
    y.value - p.value as change,
    case when p.value <> 0 then round(100.0 * (y.value - p.value) / abs(p.value), 2) end as change_pct,
    y.n_statements,
    p.n_statements as previous_n_statements,
    y.quote,
    y.source_file,
    p.quote as previous_quote,
    p.source_file as previous_source_file
from v_indicator_values y
join v_indicator_values p
  on p.region = y.region and p.series = y.series and p.kind = y.kind
 and p.unit is not distinct from y.unit and p.year = y.year - 1
where y.agree and p.agree
