// The life of one ECharts instance in a component: created on the element when first drawn,
// resized with the window, disposed with the component. `draw` sets the whole option.
import { onBeforeUnmount, onMounted, type Ref } from 'vue'
import * as echarts from 'echarts/core'

export function useEChart(el: Ref<HTMLDivElement | undefined>, draw: (chart: echarts.ECharts) => void) {
  let chart: echarts.ECharts | undefined
  function render() {
    if (!el.value) return
    chart ??= echarts.init(el.value)
    draw(chart)
  }
  const onResize = () => chart?.resize()
  onMounted(() => {
    render()
    window.addEventListener('resize', onResize)
  })
  onBeforeUnmount(() => {
    window.removeEventListener('resize', onResize)
    chart?.dispose()
  })
  return render
}
