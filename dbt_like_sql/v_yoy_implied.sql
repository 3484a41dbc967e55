-- The previous year's level implied by a year's level and the change stated for it in the same
-- region and series: value / (1 + change%) for a % change, value − change for 个百分点 (rates)
-- or a change in the level's own unit. Both from agreeing statements.
select
    v.region,
    v.series,
    v.keyed_by,
    v.indicator,
    v.series_key,
    v.kind,
    v.unit,
    v.year,
    v.value,
    s.stated_change,
    s.change_unit,
    v.year - 1 as previous_year,
    case
        when s.change_unit = '%' and s.stated_change > -100 then round(v.value / (1 + s.stated_change / 100.0), 2)
        when s.change_unit = '个百分点' and v.kind = 'rate' then round(v.value - s.stated_change, 4)
        when s.change_unit = v.unit and v.kind <> 'rate' then v.value - s.stated_change
    end as implied_previous_value,
    v.quote,
    s.quote as change_quote,
    v.source_file,
    s.source_file as change_source_file
from v_indicator_values v
join v_yoy_stated s
  on s.region = v.region and s.series = v.series and s.year = v.year
where v.agree and s.agree
  and (s.change_unit = '%' or (s.change_unit = '个百分点' and v.kind = 'rate')
       or (s.change_unit = v.unit and v.kind <> 'rate'))
