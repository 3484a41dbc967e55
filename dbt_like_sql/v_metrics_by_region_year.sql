-- materialized: table
-- partitioned by: region
-- Metrics per region, period end year, indicator and kind: how many statements, and the
-- figures they give (one row per region, year, indicator or subject, kind and unit).
select
    region,
    period_end as year,
    coalesce(indicator, 'unmapped') as indicator,
    case when indicator is null then subject end as subject,
    kind,
    unit,
    count(*) as n_metrics,
    count(distinct doc_id) as n_documents,
    min(value) as min_value,
    max(value) as max_value,
    list(distinct source_file order by source_file) as source_files
from metrics
group by all
