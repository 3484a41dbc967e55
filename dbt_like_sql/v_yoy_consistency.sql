-- Where an article states a change and the warehouse can compute it from two years of levels:
-- whether they agree within rounding (% change within 0.1 point or 2% of the stated change;
-- 个百分点 within 0.1; a change in the level's unit within 1%), or differ (flagged).
select
    c.region,
    c.series,
    c.indicator,
    c.kind,
    c.unit,
    c.year,
    c.previous_value,
    c.value,
    s.stated_change,
    s.change_unit,
    case when s.change_unit = '%' then c.change_pct else c.change end as computed_change,
    case
        when s.change_unit = '%' then abs(c.change_pct - s.stated_change) <= greatest(0.1, 0.02 * abs(s.stated_change))
        when s.change_unit = '个百分点' then abs(c.change - s.stated_change) <= 0.1
        else abs(c.change - s.stated_change) <= greatest(1, 0.01 * abs(s.stated_change))
    end as consistent,
    s.quote as change_quote,
    s.source_file as change_source_file,
    c.quote,
    c.previous_quote
from v_yoy_computed c
join v_yoy_stated s
  on s.region = c.region and s.series = c.series and s.year = c.year
where (s.change_unit = '%' and c.change_pct is not null)
   or (s.change_unit = '个百分点' and c.kind = 'rate')
   or (s.change_unit = c.unit and c.kind <> 'rate')
