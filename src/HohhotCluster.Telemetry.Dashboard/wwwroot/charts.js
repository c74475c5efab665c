// Draws every element with a data-chart attribute (an ECharts option as JSON) with the vendored Apache ECharts,
// on the first load and after each of Blazor's enhanced navigations.
(function () {
    const charts = new Map();
    function render() {
        if (typeof echarts === 'undefined') { return; }
        document.querySelectorAll('[data-chart]').forEach(function (el) {
            if (charts.has(el)) { return; }
            const option = JSON.parse(el.getAttribute('data-chart'));
            const chart = echarts.init(el, null, { renderer: 'svg' });
            if (option.graphEdgeLabels) {
                option.series.forEach(function (s) { s.edgeLabel = { show: true, formatter: function (p) { return p.data.label; } }; });
                delete option.graphEdgeLabels;
            }
            chart.setOption(option);
            charts.set(el, chart);
            el.setAttribute('data-chart-ready', 'true');
        });
        charts.forEach(function (chart, el) { if (!document.contains(el)) { chart.dispose(); charts.delete(el); } });
    }
    window.addEventListener('resize', function () { charts.forEach(function (c) { c.resize(); }); });
    document.addEventListener('DOMContentLoaded', function () {
        render();
        if (window.Blazor && window.Blazor.addEventListener) { window.Blazor.addEventListener('enhancedload', render); }
    });
})();
