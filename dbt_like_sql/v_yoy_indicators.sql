-- Year-over-year indicators: one row per region, indicator, kind and unit and year, with the
-- value, the previous year's value where present, and the change between them; plus the
-- change the article itself stated (同比) when it gave one.
with yearly as (
    select
        region,
        indicator,
        kind,
        unit,
        period_end as year,
        median(value) as value,
        count(*) as n_statements,
        any_value(quote) as example_quote,
        any_value(source_file) as example_source
    from metrics
    where indicator is not null
      and period_end is not null
      and (period_start is null or period_start = period_end)
      and kind in ('count', 'amount', 'rate')
    group by region, indicator, kind, unit, period_end
),
stated as (
    select region, indicator, unit as change_unit, period_end as year, median(value) as stated_yoy_change
    from metrics
    where kind = 'change' and basis = 'yoy' and indicator is not null
    group by region, indicator, unit, period_end
)
select
    y.region,
    y.indicator,
    y.kind,
    y.unit,
    y.year,
    y.value,
    p.value as previous_value,
    y.value - p.value as change,
    case when p.value is not null and p.value <> 0 then round(100.0 * (y.value - p.value) / p.value, 2) end as change_pct,
    s.stated_yoy_change,
    s.change_unit as stated_change_unit,
    y.n_statements,
    y.example_quote,
    y.example_source
from yearly y
left join yearly p
    on p.region = y.region and p.indicator = y.indicator and p.kind = y.kind
   and p.unit = y.unit and p.year = y.year - 1
left join stated s
    on s.region = y.region and s.indicator = y.indicator and s.year = y.year
   and (s.change_unit = '%' or s.change_unit = y.unit)
